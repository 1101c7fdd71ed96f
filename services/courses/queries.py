"""The read side: what members browse and hold, and what admins and venue staff look at."""

from __future__ import annotations

from sqlalchemy import Connection, func, or_, select

from schemas import names
from services.common.clock import utc
from services.common.units import in_scope

from . import tables as t

AUDIT_PAGE = 200

c, s, b = t.courses.c, t.sessions.c, t.bookings.c


def open_terms(conn: Connection, at) -> list[dict]:
    """Terms whose booking window has not closed yet, soonest first."""
    rows = conn.execute(
        select(t.terms).where(t.terms.c.booking_closes_at > at).order_by(t.terms.c.booking_opens_at)
    )
    return [_term(r) for r in rows]


def terms_in_scope(conn: Connection, admin_units) -> list[dict]:
    rows = conn.execute(select(t.terms).order_by(t.terms.c.starts_on.desc()))
    return [_term(r) for r in rows if in_scope(r.branch_path, admin_units)]


def venues_in_scope(conn: Connection, admin_units) -> list[dict]:
    rows = conn.execute(select(t.venues).order_by(t.venues.c.name))
    return [
        {"id": r.id, "name": r.name, "address": r.address}
        for r in rows
        if in_scope(r.branch_path, admin_units)
    ]


def _term(r) -> dict:
    return {
        "id": r.id,
        "name": r.name,
        "branch_id": r.branch_id,
        "booking_opens_at": utc(r.booking_opens_at),
        "booking_closes_at": utc(r.booking_closes_at),
        "starts_on": r.starts_on,
        "ends_on": r.ends_on,
    }


def courses_in_terms(
    conn: Connection,
    term_ids: list[str],
    status: str,
    *,
    limit: int,
    offset: int,
    branch_path: tuple[str, ...] | None = None,
) -> list[dict]:
    """The courses of these terms in one status: published ones as members browse them, by category
    and title; drafts newest first, as the admin who just made one looks for it to publish. With
    ``branch_path`` (a member's), only the courses a member there may book: a course limited to some
    branches (``branch_ids``, a JSON list) is left out elsewhere, as booking would refuse it."""
    order = (c.created_at.desc(), c.id) if status == "draft" else (c.category, c.title, c.id)
    first = select(s.course_id, func.min(s.starts_at).label("first_session")).group_by(s.course_id).subquery()
    query = (
        select(t.courses, first.c.first_session, t.venues.c.name.label("venue"))
        .join(first, first.c.course_id == c.id)
        .outerjoin(t.venues, t.venues.c.id == c.venue_id)
        .where(c.term_id.in_(term_ids), c.status == status)
        .order_by(*order)
    )
    if branch_path is None:
        return [course_out(r) for r in conn.execute(query.limit(limit).offset(offset))]
    # Filtered here, the page cut after: the JSON list reads alike on both engines, and a term's
    # published courses are tens, not thousands.
    open_to = [r for r in conn.execute(query) if not r.branch_ids or set(r.branch_ids) & set(branch_path)]
    return [course_out(r) for r in open_to[offset : offset + limit]]


def course_out(r) -> dict:
    return {
        "id": r.id,
        "term_id": r.term_id,
        "title": r.title,
        "category": r.category,
        "teacher": r.teacher,
        "venue": r.venue,
        "description": r.description,
        "status": r.status,
        "capacity": r.capacity,
        "seats_left": max(0, r.capacity - r.confirmed),
        "schedule": r.schedule,
        "first_session": utc(r.first_session),
        "cancel_hours": r.cancel_hours,
        "min_age": r.min_age,
        "max_age": r.max_age,
        "women_only": r.women_only,
    }


def course_detail(conn: Connection, course_id: str) -> dict | None:
    first = select(func.min(s.starts_at)).where(s.course_id == c.id).scalar_subquery()
    row = conn.execute(
        select(t.courses, first.label("first_session"), t.venues.c.name.label("venue"))
        .outerjoin(t.venues, t.venues.c.id == c.venue_id)
        .where(c.id == course_id)
    ).first()
    if row is None:
        return None
    sessions = conn.execute(
        select(s.id, s.starts_at, s.ends_at).where(s.course_id == course_id).order_by(s.starts_at)
    )
    return {
        **course_out(row),
        "seats_per_member": row.seats_per_member,
        "branch_ids": row.branch_ids,
        "branch_path": row.branch_path,
        "sessions": [
            {"id": x.id, "starts_at": utc(x.starts_at), "ends_at": utc(x.ends_at)} for x in sessions
        ],
    }


def my_bookings(conn: Connection, member_id: str) -> list[dict]:
    """A member's bookings, newest first; a waitlist place shows where it stands now."""
    rows = conn.execute(
        select(
            b.id,
            b.course_id,
            b.status,
            b.position,
            b.child_id,
            b.created_at,
            b.cancel_reason,
            c.title,
            c.term_id,
        )
        .join(t.courses, c.id == b.course_id)
        .where(b.member_id == member_id)
        .order_by(b.created_at.desc())
        .limit(100)
    ).all()
    out = []
    for r in rows:
        item = {
            "id": r.id,
            "course_id": r.course_id,
            "course": r.title,
            "term_id": r.term_id,
            "status": r.status,
            "child_id": r.child_id,
            "booked_at": utc(r.created_at),
            "cancel_reason": r.cancel_reason,
        }
        if r.status == "waitlisted":  # a member holds a handful of bookings: one count each
            item["position"] = waitlist_rank(conn, r.course_id, r.position)
        out.append(item)
    return out


def waitlist_rank(conn: Connection, course_id: str, number: int) -> int:
    """Where waitlist number ``number`` stands now: 1 is next in line."""
    ahead = select(func.count()).where(
        b.course_id == course_id, b.status == "waitlisted", b.position < number
    )
    return conn.execute(ahead).scalar_one() + 1


def children(conn: Connection, member_id: str) -> list[dict]:
    ch = t.children.c
    rows = conn.execute(
        select(ch.id, ch.name, ch.birth_date).where(ch.member_id == member_id).order_by(ch.created_at)
    )
    return [{"id": r.id, "name": r.name, "birth_date": r.birth_date} for r in rows]


def roster(conn: Connection, course_id: str) -> list[dict]:
    """Who holds a seat or a waitlist place, with attendance: card numbers, and children's names
    masked (the venue needs to tell them apart, not to know them)."""
    attended = (
        select(func.count()).where(t.checkins.c.booking_id == b.id).correlate(t.bookings).scalar_subquery()
    )
    missed = (
        select(func.count()).where(t.no_shows.c.booking_id == b.id).correlate(t.bookings).scalar_subquery()
    )
    rows = conn.execute(
        select(
            b.id,
            b.status,
            b.position,
            b.member_id,
            t.members.c.card_no,
            t.children.c.name.label("child"),
            attended.label("attended"),
            missed.label("missed"),
        )
        .outerjoin(t.members, t.members.c.member_id == b.member_id)
        .outerjoin(t.children, t.children.c.id == b.child_id)
        .where(b.course_id == course_id, or_(b.status == "confirmed", b.status == "waitlisted"))
        .order_by(b.status, b.position, b.created_at)
    )
    return [
        {
            "booking_id": r.id,
            "status": r.status,
            "waitlist_no": r.position,
            "card_no": r.card_no,
            "child": names.mask(r.child),
            "attended": r.attended,
            "no_shows": r.missed,
        }
        for r in rows
    ]


def audit_trail(conn: Connection, course_id: str) -> list[dict]:
    """Who took the course's roster away and when, newest first (the latest ``AUDIT_PAGE``)."""
    a = t.audit_log
    rows = conn.execute(
        select(a).where(a.c.course_id == course_id).order_by(a.c.at.desc(), a.c.id.desc()).limit(AUDIT_PAGE)
    )
    return [{**r._mapping, "at": utc(r.at)} for r in rows]


def attendance(conn: Connection, course_id: str) -> list[dict]:
    """Per session: check-ins, and no-shows once the session has been closed."""
    checked = (
        select(func.count()).where(t.checkins.c.session_id == s.id).correlate(t.sessions).scalar_subquery()
    )
    missed = (
        select(func.count()).where(t.no_shows.c.session_id == s.id).correlate(t.sessions).scalar_subquery()
    )
    rows = conn.execute(
        select(
            s.id,
            s.starts_at,
            s.ends_at,
            s.no_shows_marked_at,
            checked.label("checked_in"),
            missed.label("missed"),
        )
        .where(s.course_id == course_id)
        .order_by(s.starts_at)
    )
    return [
        {
            "session_id": r.id,
            "starts_at": utc(r.starts_at),
            "ends_at": utc(r.ends_at),
            "checked_in": r.checked_in,
            "no_shows": r.missed if r.no_shows_marked_at else None,
        }
        for r in rows
    ]
