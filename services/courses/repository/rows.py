"""What the repository hands use cases: plain records of courses' rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..model import Eligibility, Schedule


@dataclass(frozen=True)
class Venue:
    id: str
    name: str
    address: str | None
    branch_path: tuple[str, ...]


@dataclass(frozen=True)
class Course:
    id: str
    term_id: str
    title: str
    venue_id: str | None
    status: str
    capacity: int
    confirmed: int
    seats_per_member: int
    cancel_hours: int
    schedule: Schedule
    eligibility: Eligibility
    branch_path: tuple[str, ...]


@dataclass(frozen=True)
class Session:
    id: str
    course_id: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Child:
    id: str
    member_id: str
    name: str
    birth_date: date


@dataclass(frozen=True)
class Booking:
    id: str
    course_id: str
    term_id: str
    member_id: str
    child_id: str | None
    person: str
    status: str
    position: int | None


@dataclass(frozen=True)
class Bookable:
    """What a booking checks before it takes a seat, and a stored answer, read in one statement."""

    confirmed: int  # the course's seats taken, as read now
    no_shows: int  # the member's in the course's term
    duplicate: bool  # the person holds a seat or a place on the course already
    seats_held: int  # by the member and their children on the course
    stored: tuple  # the Idempotency-Key's record: hash, status, body, created_at (None's: none)
