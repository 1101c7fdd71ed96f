"""Venues and their staff, terms, courses and their sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, exists, func, insert, select, update

from services.common import sql
from services.common.clock import utc

from .. import tables as t
from ..model import Eligibility, Schedule, Term
from .rows import Course, Session, Venue


def add_venue(conn: Connection, *, name: str, address, branch_id: str, branch_path: list[str], at) -> str:
    venue_id = str(uuid.uuid4())
    conn.execute(
        insert(t.venues).values(
            id=venue_id,
            name=name,
            address=address,
            branch_id=branch_id,
            branch_path=branch_path,
            created_at=at,
        )
    )
    return venue_id


def venue(conn: Connection, venue_id: str) -> Venue | None:
    row = conn.execute(select(t.venues).where(t.venues.c.id == venue_id)).first()
    return Venue(row.id, row.name, row.address, tuple(row.branch_path)) if row else None


def add_venue_staff(conn: Connection, venue_id: str, staff_id: str, at) -> bool:
    """False when the staff member was assigned already (one statement: two admins assigning the
    same person at once get one row, not a key violation)."""
    return sql.add_unless_there(
        conn, t.venue_staff, {"venue_id": venue_id, "staff_id": staff_id, "created_at": at}
    )


def add_course_staff(conn: Connection, course_id: str, staff_id: str, at) -> bool:
    """As ``add_venue_staff``, for one course."""
    return sql.add_unless_there(
        conn, t.course_staff, {"course_id": course_id, "staff_id": staff_id, "created_at": at}
    )


def staff_may_check_in(conn: Connection, staff_id: str, course: Course) -> bool:
    """Assigned to this course, or to the venue it runs at: courses' own records decide."""
    by_course = exists().where(t.course_staff.c.course_id == course.id, t.course_staff.c.staff_id == staff_id)
    by_venue = exists().where(
        t.venue_staff.c.venue_id == course.venue_id, t.venue_staff.c.staff_id == staff_id
    )
    return bool(conn.execute(select(by_course | by_venue)).scalar())


def add_term(conn: Connection, **values) -> str:
    term_id = str(uuid.uuid4())
    conn.execute(insert(t.terms).values(id=term_id, **values))
    return term_id


def term(conn: Connection, term_id: str) -> Term | None:
    row = conn.execute(select(t.terms).where(t.terms.c.id == term_id)).first()
    return term_from_row(row) if row else None


def term_from_row(row, prefix: str = "") -> Term:
    """``prefix``: what the term's columns are labelled with where a query selects them beside
    another table's columns of the same names."""
    m = row._mapping
    return Term(
        m[prefix + "id"],
        m[prefix + "name"],
        tuple(m[prefix + "branch_path"]),
        utc(m[prefix + "booking_opens_at"]),
        utc(m[prefix + "booking_closes_at"]),
        m[prefix + "starts_on"],
        m[prefix + "ends_on"],
        m[prefix + "no_show_limit"],
    )


def add_course(conn: Connection, sessions: list[tuple[datetime, datetime]], **values) -> str:
    course_id = str(uuid.uuid4())
    conn.execute(insert(t.courses).values(id=course_id, **values))
    conn.execute(
        insert(t.sessions),
        [
            {"id": str(uuid.uuid4()), "course_id": course_id, "starts_at": s, "ends_at": e}
            for s, e in sessions
        ],
    )
    return course_id


def course(conn: Connection, course_id: str, *, for_update: bool = False) -> Course | None:
    query = select(t.courses).where(t.courses.c.id == course_id)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    return course_from_row(row) if row else None


def course_from_row(row) -> Course:
    return Course(
        id=row.id,
        term_id=row.term_id,
        title=row.title,
        venue_id=row.venue_id,
        status=row.status,
        capacity=row.capacity,
        confirmed=row.confirmed,
        seats_per_member=row.seats_per_member,
        cancel_hours=row.cancel_hours,
        schedule=Schedule.from_dict(row.schedule),
        eligibility=Eligibility(row.min_age, row.max_age, row.women_only, tuple(row.branch_ids or ())),
        branch_path=tuple(row.branch_path),
    )


def publish_course(conn: Connection, course_id: str) -> None:
    conn.execute(update(t.courses).where(t.courses.c.id == course_id).values(status="published"))


def course_sessions(conn: Connection, course_id: str) -> list[Session]:
    s = t.sessions.c
    rows = conn.execute(select(t.sessions).where(s.course_id == course_id).order_by(s.starts_at))
    return [Session(r.id, r.course_id, utc(r.starts_at), utc(r.ends_at)) for r in rows]


def first_session(conn: Connection, course_id: str) -> datetime | None:
    s = t.sessions.c
    return utc(conn.execute(select(func.min(s.starts_at)).where(s.course_id == course_id)).scalar())
