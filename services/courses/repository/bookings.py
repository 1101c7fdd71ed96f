"""Members' children, bookings with their seats and waitlist places, check-ins and no-shows."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, delete, exists, func, insert, select, update

from services.common.clock import utc

from .. import tables as t
from .catalogue import course_from_row, term_from_row
from .rows import Bookable, Booking, Child, Session

b = t.bookings.c
c = t.courses.c

# The hot path's statements, built once. A seat is taken only while one is left; the waitlist
# number is handed out by the same row, so the row lock orders concurrent bookings.
_TAKE_SEAT = (
    update(t.courses)
    .where(c.id == bindparam("course"), c.confirmed < c.capacity)
    .values(confirmed=c.confirmed + 1)
)
_RELEASE_SEAT = update(t.courses).where(c.id == bindparam("course")).values(confirmed=c.confirmed - 1)
_NEXT_POSITION = (
    update(t.courses)
    .where(c.id == bindparam("course"), c.confirmed >= c.capacity)
    .values(waitlist_seq=c.waitlist_seq + 1)
    .returning(c.waitlist_seq, c.waitlist_left)
)
_LEAVE_WAITLIST = (
    update(t.courses).where(c.id == bindparam("course")).values(waitlist_left=c.waitlist_left + 1)
)
_TERM_LABEL = "terms_"  # not "term_": courses has a term_id of its own
# A booking's read-only checks in one round trip: the course with its term, the member's no-shows
# in that term, whether the person holds the course already and the member's seats on it.
_BOOKABLE = (
    select(
        t.courses,
        *(col.label(_TERM_LABEL + col.name) for col in t.terms.c),
        select(func.count())
        .where(t.no_shows.c.member_id == bindparam("member"), t.no_shows.c.term_id == t.terms.c.id)
        .scalar_subquery()
        .label("no_shows"),
        exists()
        .where(b.course_id == c.id, b.person == bindparam("person"), b.status.in_(t.HOLDING))
        .label("duplicate"),
        select(func.count())
        .where(
            b.member_id == bindparam("member"),
            b.term_id == t.terms.c.id,
            b.course_id == c.id,
            b.status.in_(t.HOLDING),
        )
        .scalar_subquery()
        .label("seats_held"),
    )
    .join(t.terms, t.terms.c.id == c.term_id)
    .where(c.id == bindparam("course"))
)


def booking_from_row(row) -> Booking:
    return Booking(
        row.id, row.course_id, row.term_id, row.member_id, row.child_id, row.person, row.status, row.position
    )


def add_child(conn: Connection, member_id: str, name: str, birth_date, at) -> str:
    child_id = str(uuid.uuid4())
    conn.execute(
        insert(t.children).values(
            id=child_id, member_id=member_id, name=name, birth_date=birth_date, created_at=at
        )
    )
    return child_id


def child(conn: Connection, child_id: str, member_id: str) -> Child | None:
    ch = t.children.c
    row = conn.execute(select(t.children).where(ch.id == child_id, ch.member_id == member_id)).first()
    return Child(row.id, row.member_id, row.name, row.birth_date) if row else None


def erase_children(conn: Connection, member_id: str) -> int:
    return conn.execute(delete(t.children).where(t.children.c.member_id == member_id)).rowcount


def take_seat(conn: Connection, course_id: str) -> bool:
    return conn.execute(_TAKE_SEAT, {"course": course_id}).rowcount == 1


def seat_or_number(conn: Connection, course_id: str, *, full_when_read: bool) -> tuple[int, int] | None:
    """A seat (None), or the next waitlist number and its place in line, by conditional UPDATEs of
    the course row. Each holds only if the course is still as it must be (seats left, or full), so
    the outcome is right however things changed since ``full_when_read``; trying the likely one
    first means one UPDATE, not two, in the common case (a full course during a rush)."""
    if full_when_read:
        row = conn.execute(_NEXT_POSITION, {"course": course_id}).first()
        if row is not None:
            return row.waitlist_seq, row.waitlist_seq - row.waitlist_left
    if take_seat(conn, course_id):
        return None
    row = conn.execute(_NEXT_POSITION, {"course": course_id}).one()
    return row.waitlist_seq, row.waitlist_seq - row.waitlist_left


def release_seat(conn: Connection, course_id: str) -> None:
    conn.execute(_RELEASE_SEAT, {"course": course_id})


def leave_waitlist(conn: Connection, course_id: str) -> None:
    """A waitlist number stopped waiting (promoted, cancelled): everyone behind moves up."""
    conn.execute(_LEAVE_WAITLIST, {"course": course_id})


def bookable(conn: Connection, course_id: str, member_id: str, person: str) -> Bookable | None:
    row = conn.execute(_BOOKABLE, {"course": course_id, "member": member_id, "person": person}).first()
    if row is None:
        return None
    return Bookable(
        course_from_row(row),
        term_from_row(row, _TERM_LABEL),
        row.no_shows,
        bool(row.duplicate),
        row.seats_held,
    )


def add_booking(conn: Connection, **values) -> None:
    conn.execute(insert(t.bookings).values(**values))


def booking(conn: Connection, booking_id: str) -> Booking | None:
    row = conn.execute(select(t.bookings).where(b.id == booking_id)).first()
    return booking_from_row(row) if row else None


def cancel_booking(conn: Connection, booking_id: str, reason: str, at: datetime) -> None:
    conn.execute(
        update(t.bookings)
        .where(b.id == booking_id)
        .values(status="cancelled", cancel_reason=reason, updated_at=at)
    )


def confirm_booking(conn: Connection, booking_id: str, at: datetime) -> None:
    conn.execute(update(t.bookings).where(b.id == booking_id).values(status="confirmed", updated_at=at))


def waitlist_head(conn: Connection, course_id: str) -> Booking | None:
    row = conn.execute(
        select(t.bookings)
        .where(b.course_id == course_id, b.status == "waitlisted")
        .order_by(b.position)
        .limit(1)
    ).first()
    return booking_from_row(row) if row else None


def bookings_to_cancel(conn: Connection, member_id: str, after: datetime) -> list[Booking]:
    """A member's seats and waitlist places on courses that have a session still to come."""
    s = t.sessions.c
    upcoming = select(s.course_id).where(s.starts_at > after).distinct()
    rows = conn.execute(
        select(t.bookings)
        .where(b.member_id == member_id, b.status.in_(t.HOLDING), b.course_id.in_(upcoming))
        .order_by(b.created_at)
    )
    return [booking_from_row(r) for r in rows]


def checkin_of(conn: Connection, booking_id: str, session_id: str):
    k = t.checkins.c
    return conn.execute(
        select(k.checked_in_at, k.staff_id).where(k.booking_id == booking_id, k.session_id == session_id)
    ).first()


def add_checkin(conn: Connection, booking_id: str, session_id: str, staff_id: str, at: datetime) -> None:
    conn.execute(
        insert(t.checkins).values(
            booking_id=booking_id, session_id=session_id, staff_id=staff_id, checked_in_at=at
        )
    )


def no_show_count(conn: Connection, member_id: str, term_id: str) -> int:
    n = t.no_shows.c
    return conn.execute(
        select(func.count()).where(n.member_id == member_id, n.term_id == term_id)
    ).scalar_one()


def unmarked_ended_sessions(conn: Connection, before: datetime, limit: int = 500) -> list[Session]:
    s = t.sessions.c
    rows = conn.execute(
        select(t.sessions)
        .where(s.ends_at < before, s.no_shows_marked_at.is_(None))
        .order_by(s.ends_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [Session(r.id, r.course_id, utc(r.starts_at), utc(r.ends_at)) for r in rows]


def confirmed_without_checkin(conn: Connection, session: Session) -> list[Booking]:
    """Seats held when the session started that nobody used."""
    k = t.checkins.c
    rows = conn.execute(
        select(t.bookings)
        .outerjoin(t.checkins, and_(k.booking_id == b.id, k.session_id == session.id))
        .where(
            b.course_id == session.course_id,
            b.status == "confirmed",
            b.created_at < session.starts_at,
            k.booking_id.is_(None),
        )
    )
    return [booking_from_row(r) for r in rows]


def add_no_show(conn: Connection, booking: Booking, session_id: str, at: datetime) -> None:
    conn.execute(
        insert(t.no_shows).values(
            booking_id=booking.id,
            session_id=session_id,
            member_id=booking.member_id,
            term_id=booking.term_id,
            recorded_at=at,
        )
    )


def mark_session(conn: Connection, session_id: str, at: datetime) -> None:
    conn.execute(update(t.sessions).where(t.sessions.c.id == session_id).values(no_shows_marked_at=at))
