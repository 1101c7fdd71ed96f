"""Members' children, bookings with their seats and waitlist places, check-ins and no-shows."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    update,
)

from services.common import members, sql
from services.common.clock import utc
from services.common.members import Member

from .. import tables as t
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
k = t.idempotency_keys.c
_STORED = and_(k.scope == bindparam("scope"), k.key == bindparam("key"))
# In the statement's text, not a parameter SQLAlchemy expands on every execution.
_HOLDING = [literal_column(f"'{status}'") for status in t.HOLDING]
# The member's own bookings, read by the member's index and only then matched to the course, for
# the seats held and for the duplicate check too (a child is booked by its own member alone): left to
# the planner, PostgreSQL chose an index on the course while the table had no statistics yet, as on
# the day a new deployment opens its first term, and read every booking of the course for each
# booking (4-14 ms each at 10,000; docs/benchmarks.md, "Course booking burst"). The OFFSET keeps the
# subquery from being merged into the one around it.
_MINE = (
    select(b.term_id, b.course_id, b.person, b.status)
    .where(b.member_id == bindparam("member"))
    .offset(0)
    .subquery()
)
# What a booking reads in one round trip, after it has locked the member's row, of what changes (the
# course and its term do not, and the caller has them): the seats taken, the member's no-shows in the
# term, whether the person holds the course already, the member's seats on it, and the stored
# answer of the Idempotency-Key, if any.
_BOOKABLE = (
    select(
        c.confirmed,
        select(func.count())
        .where(t.no_shows.c.member_id == bindparam("member"), t.no_shows.c.term_id == bindparam("term"))
        .scalar_subquery()
        .label("no_shows"),
        exists()
        .select_from(_MINE)
        .where(_MINE.c.course_id == c.id, _MINE.c.person == bindparam("person"), _MINE.c.status.in_(_HOLDING))
        .label("duplicate"),
        select(func.count())
        .select_from(_MINE)
        .where(_MINE.c.term_id == bindparam("term"), _MINE.c.course_id == c.id, _MINE.c.status.in_(_HOLDING))
        .scalar_subquery()
        .label("seats_held"),
        k.request_hash,
        k.status,
        k.body,
        k.created_at,
    )
    .select_from(t.courses.outerjoin(t.idempotency_keys, _STORED))
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


def erase_children(conn: Connection, member_id: str, *, registered_before: datetime | None = None) -> int:
    c = t.children.c
    theirs = c.member_id == member_id
    if registered_before is not None:
        theirs &= c.created_at < registered_before
    return conn.execute(delete(t.children).where(theirs)).rowcount


def take_seat(conn: Connection, course_id: str) -> bool:
    return conn.execute(_TAKE_SEAT, {"course": course_id}).rowcount == 1


def next_number(conn: Connection, course_id: str) -> tuple[int, int] | None:
    """The next waitlist number and its place in line, if the course is full; else None."""
    row = conn.execute(_NEXT_POSITION, {"course": course_id}).first()
    return None if row is None else (row.waitlist_seq, row.waitlist_seq - row.waitlist_left)


def release_seat(conn: Connection, course_id: str) -> None:
    conn.execute(_RELEASE_SEAT, {"course": course_id})


def leave_waitlist(conn: Connection, course_id: str) -> None:
    """A waitlist number stopped waiting (promoted, cancelled): everyone behind moves up."""
    conn.execute(_LEAVE_WAITLIST, {"course": course_id})


def bookable(
    conn: Connection, course_id: str, term_id: str, member_id: str, person: str, scope: str, key: str | None
) -> tuple[Member | None, Bookable]:
    """The member, their row locked, and what a booking checks of a course (which exists: courses
    are never deleted); ``scope`` and ``key``: its Idempotency-Key's, to read a stored answer.

    One round trip, BEGIN's too (``sql.fetch_in_turn``): the checks run after the lock, so they see
    whatever the member's other booking that held it committed."""
    values = {"course": course_id, "term": term_id, "member": member_id, "person": person}
    member_rows, (row,) = sql.fetch_in_turn(
        conn,
        [
            members.find_statement(t.members, member_id, lock=True),
            (_BOOKABLE, {**values, "scope": scope, "key": key}),
        ],
    )
    return members.member_of(member_rows), Bookable(
        row.confirmed,
        row.no_shows,
        bool(row.duplicate),
        row.seats_held,
        (row.request_hash, row.status, row.body, row.created_at),
    )


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


def bookings_to_cancel(
    conn: Connection, member_id: str, after: datetime, *, made_before: datetime | None = None
) -> list[Booking]:
    """A member's seats and waitlist places on courses that have a session still to come (of those
    booked before ``made_before``, if given)."""
    s = t.sessions.c
    upcoming = select(s.course_id).where(s.starts_at > after).distinct()
    theirs = (b.member_id == member_id) & b.status.in_(t.HOLDING) & b.course_id.in_(upcoming)
    if made_before is not None:
        theirs &= b.created_at < made_before
    rows = conn.execute(select(t.bookings).where(theirs).order_by(b.created_at))
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
    """Seats held when the session started that nobody used. A confirmed booking's ``updated_at`` is
    when it became confirmed (booked so, or promoted: nothing else updates a confirmed booking), so
    one promoted during the session, or after it, is not a no-show of it."""
    k = t.checkins.c
    rows = conn.execute(
        select(t.bookings)
        .outerjoin(t.checkins, and_(k.booking_id == b.id, k.session_id == session.id))
        .where(
            b.course_id == session.course_id,
            b.status == "confirmed",
            b.updated_at < session.starts_at,
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
