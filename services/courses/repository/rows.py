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
