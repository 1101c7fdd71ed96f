"""Course booking's rules, in plain Python: terms and their booking window, a course's weekly
schedule and the sessions it produces, who may take a seat, and when a booking may be cancelled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from services.common.clock import SHANGHAI as LOCAL  # schedules are local wall-clock times
from services.common.domain import Conflict, Forbidden, Invalid


@dataclass(frozen=True)
class Term:
    id: str
    name: str
    branch_path: tuple[str, ...]
    booking_opens_at: datetime
    booking_closes_at: datetime
    starts_on: date
    ends_on: date
    no_show_limit: int

    def check_booking_open(self, at: datetime) -> None:
        if at < self.booking_opens_at:
            raise Invalid(
                "booking.not_open_yet", opens_at=self.booking_opens_at.astimezone(LOCAL).isoformat()
            )
        if at >= self.booking_closes_at:
            raise Invalid("booking.closed")


def check_term_dates(opens_at: datetime, closes_at: datetime, starts_on: date, ends_on: date) -> None:
    if closes_at <= opens_at:
        raise Invalid("term.window_inverted", field="booking_closes_at")
    if ends_on < starts_on:
        raise Invalid("term.dates_inverted", field="ends_on")


@dataclass(frozen=True)
class Schedule:
    weekdays: tuple[int, ...]  # ISO: 1 Monday .. 7 Sunday
    start: time  # local wall-clock time
    minutes: int

    @classmethod
    def from_dict(cls, raw: dict) -> Schedule:
        hours, minutes = (int(p) for p in raw["start"].split(":"))
        return cls(tuple(sorted(set(raw["weekdays"]))), time(hours, minutes), int(raw["minutes"]))

    def as_dict(self) -> dict:
        return {
            "weekdays": list(self.weekdays),
            "start": self.start.strftime("%H:%M"),
            "minutes": self.minutes,
        }

    def sessions(self, first: date, last: date) -> list[tuple[datetime, datetime]]:
        """Every session from ``first`` to ``last`` inclusive, as UTC (start, end)."""
        out = []
        day = first
        while day <= last:
            if day.isoweekday() in self.weekdays:
                starts = datetime.combine(day, self.start, LOCAL).astimezone(UTC)
                out.append((starts, starts + timedelta(minutes=self.minutes)))
            day += timedelta(days=1)
        return out


MAX_SESSIONS = 200  # a term of daily sessions is under this; more is a typo in the dates


def plan_sessions(schedule: Schedule, term: Term) -> list[tuple[datetime, datetime]]:
    planned = schedule.sessions(term.starts_on, term.ends_on)
    if not planned:
        raise Invalid("course.no_sessions", field="schedule")
    if len(planned) > MAX_SESSIONS:
        raise Invalid("course.too_many_sessions", field="schedule", limit=MAX_SESSIONS)
    return planned


@dataclass(frozen=True)
class Eligibility:
    min_age: int | None = None
    max_age: int | None = None
    women_only: bool = False
    branch_ids: tuple[str, ...] = ()

    @property
    def for_children(self) -> bool:
        """An age range under 18 means the course is for members' children (kids' basketball)."""
        return self.max_age is not None and self.max_age < 18

    @property
    def needs_profile(self) -> bool:
        """A member booking for themselves: their sex or age comes from enrolment."""
        return self.women_only or self.min_age is not None or self.max_age is not None

    def check(self, person: Person, branch_path: tuple[str, ...], on: date) -> None:
        if self.branch_ids and not set(self.branch_ids) & set(branch_path):
            raise Forbidden("booking.branch_not_eligible")
        if self.for_children and person.child_id is None:
            raise Invalid("booking.child_required", field="child_id")
        if self.min_age is not None or self.max_age is not None:
            age = person.age_on(on)
            if age is None or not (self.min_age or 0) <= age <= (
                self.max_age if self.max_age is not None else 200
            ):
                raise Invalid("booking.age_not_eligible", field="child_id" if person.child_id else None)
        if self.women_only and person.sex != "female":
            raise Forbidden("booking.women_only")


def check_eligibility_rules(min_age: int | None, max_age: int | None) -> None:
    if min_age is not None and max_age is not None and min_age > max_age:
        raise Invalid("course.age_range_inverted", field="max_age")


@dataclass(frozen=True)
class Person:
    """Who takes the seat: the member, or one of their registered children."""

    member_id: str
    child_id: str | None = None
    birth_date: date | None = None
    birth_year: int | None = None  # a member's, from enrolment when a course needs it
    sex: str | None = None

    @property
    def key(self) -> str:
        return f"child:{self.child_id}" if self.child_id else f"member:{self.member_id}"

    def age_on(self, day: date) -> int | None:
        if self.birth_date is not None:
            return age_on(self.birth_date, day)
        if self.birth_year is not None:
            return day.year - self.birth_year
        return None


def age_on(birth_date: date, day: date) -> int:
    """Years completed on ``day``."""
    had_birthday = (day.month, day.day) >= (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (0 if had_birthday else 1)


def check_child_birth_date(birth_date: date, today: date) -> None:
    """A child is born by ``today`` (the local day) and not yet 18 on it."""
    if birth_date > today or age_on(birth_date, today) >= 18:
        raise Invalid("child.birth_date", field="birth_date")


def check_cancellable(status: str, first_session: datetime | None, cancel_hours: int, at: datetime) -> None:
    """A confirmed seat may be given up until ``cancel_hours`` before the course starts, so the
    waitlist has time to come; leaving the waitlist is always allowed."""
    if status not in ("confirmed", "waitlisted"):
        raise Conflict("booking.not_active")
    if status == "confirmed" and first_session is not None:
        if at > first_session - timedelta(hours=cancel_hours):
            raise Conflict("booking.cancel_deadline_passed")


def check_no_shows(count: int, limit: int) -> None:
    if limit and count >= limit:
        raise Forbidden("booking.blocked_no_shows", limit=limit)


def session_for_checkin(sessions, at: datetime, opens_minutes: int):
    """The session whose door is open at ``at``: from ``opens_minutes`` before it starts to its end."""
    for s in sessions:
        if s.starts_at - timedelta(minutes=opens_minutes) <= at <= s.ends_at:
            return s
    raise Conflict("checkin.no_session_now")


def local_time(at: datetime) -> str:
    """A time as people at the venue read it."""
    return at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
