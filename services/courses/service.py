"""What union admins do: venues and the staff who check people in there, terms, courses.

Every object carries the path of the branch that runs it, learned from enrolment when the admin
creates it; after that an admin's reach is checked here, from courses' own records.
"""

from __future__ import annotations

from datetime import date, datetime

from services.common import audit
from services.common.clock import now
from services.common.db import UnitOfWork
from services.common.domain import Conflict, NotFound
from services.common.units import in_scope

from . import model, queries, repository, tables
from .model import Schedule, Term
from .repository.rows import Course, Venue

EXPORT_ROSTER = "export_roster"


def export_roster(uow: UnitOfWork, admin_units, course_id: str, *, actor: str) -> tuple[Course, list[dict]]:
    """The roster for the venue's sign-in sheet, and a row in the audit log, written in the
    transaction that reads it and committed before a line of it leaves."""
    with uow:
        conn = uow.connection
        course = course_in_scope(conn, course_id, admin_units)
        rows = queries.roster(conn, course.id)
        audit.record(
            uow,
            tables.audit_log,
            actor=actor,
            action=EXPORT_ROSTER,
            subject=course.id,
            fields=audit.filter_fields(len(rows)),
        )
        uow.commit()
    return course, rows


def venue_in_scope(conn, venue_id: str, admin_units) -> Venue:
    found = repository.venue(conn, venue_id)
    if found is None or not in_scope(found.branch_path, admin_units):
        raise NotFound("venue.not_found")
    return found


def term_in_scope(conn, term_id: str, admin_units) -> Term:
    found = repository.term(conn, term_id)
    if found is None or not in_scope(found.branch_path, admin_units):
        raise NotFound("term.not_found")
    return found


def course_in_scope(conn, course_id: str, admin_units) -> Course:
    found = repository.course(conn, course_id)
    if found is None or not in_scope(found.branch_path, admin_units):
        raise NotFound("course.not_found")
    return found


def create_venue(uow: UnitOfWork, *, branch_path: list[str], name: str, address, branch_id: str) -> str:
    with uow:
        venue_id = repository.add_venue(
            uow.connection, name=name, address=address, branch_id=branch_id, branch_path=branch_path, at=now()
        )
        uow.commit()
    return venue_id


def assign_venue_staff(uow: UnitOfWork, admin_units, venue_id: str, staff_id: str) -> bool:
    with uow:
        venue_in_scope(uow.connection, venue_id, admin_units)
        added = repository.add_venue_staff(uow.connection, venue_id, staff_id, now())
        uow.commit()
    return added


def assign_course_staff(uow: UnitOfWork, admin_units, course_id: str, staff_id: str) -> bool:
    with uow:
        course_in_scope(uow.connection, course_id, admin_units)
        added = repository.add_course_staff(uow.connection, course_id, staff_id, now())
        uow.commit()
    return added


def create_term(
    uow: UnitOfWork,
    *,
    branch_path: list[str],
    name: str,
    branch_id: str,
    booking_opens_at: datetime,
    booking_closes_at: datetime,
    starts_on: date,
    ends_on: date,
    no_show_limit: int,
) -> str:
    model.check_term_dates(booking_opens_at, booking_closes_at, starts_on, ends_on)
    with uow:
        term_id = repository.add_term(
            uow.connection,
            name=name,
            branch_id=branch_id,
            branch_path=branch_path,
            booking_opens_at=booking_opens_at,
            booking_closes_at=booking_closes_at,
            starts_on=starts_on,
            ends_on=ends_on,
            no_show_limit=no_show_limit,
            created_at=now(),
        )
        uow.commit()
    return term_id


def create_course(
    uow: UnitOfWork, admin_units, *, term_id: str, schedule: dict, venue_id=None, **fields
) -> dict:
    model.check_eligibility_rules(fields.get("min_age"), fields.get("max_age"))
    planned = Schedule.from_dict(schedule)
    with uow:
        term = term_in_scope(uow.connection, term_id, admin_units)
        if venue_id is not None:
            venue_in_scope(uow.connection, venue_id, admin_units)
        sessions = model.plan_sessions(planned, term)
        course_id = repository.add_course(
            uow.connection,
            sessions,
            term_id=term.id,
            venue_id=venue_id,
            schedule=planned.as_dict(),
            status="draft",
            branch_path=list(term.branch_path),
            created_at=now(),
            **fields,
        )
        uow.commit()
    return {"id": course_id, "sessions": len(sessions)}


def publish_course(uow: UnitOfWork, admin_units, course_id: str) -> None:
    with uow:
        course = course_in_scope(uow.connection, course_id, admin_units)
        if course.status == "published":
            raise Conflict("course.already_published")
        repository.publish_course(uow.connection, course_id)
        uow.commit()


def draft_courses(
    uow: UnitOfWork, admin_units, term_id: str | None, *, limit: int, offset: int
) -> list[dict]:
    """The drafts of one term, or of every term, in the admin's subtree: what waits to be published.
    A term outside the subtree reads as absent, as every other admin read answers it."""
    with uow.read_only():
        conn = uow.connection
        if term_id is None:
            term_ids = [term["id"] for term in queries.terms_in_scope(conn, admin_units)]
        else:
            term_ids = [term_in_scope(conn, term_id, admin_units).id]
        return queries.courses_in_terms(conn, term_ids, "draft", limit=limit, offset=offset)
