"""Venue staff checking people in with their ticket QR, and the no-shows a session leaves behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exc

from schemas.events import courses as events
from services.common.clock import now, utc
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Forbidden, Invalid
from services.common.signed_codes import CodeSigner, SignedCodeError
from services.common.units import in_scope

from . import model, repository
from .booking import event_data


@dataclass(frozen=True)
class Staff:
    """Who scans: a staff member (assigned to venues and courses here) or an admin of the branch."""

    id: str
    admin_units: tuple[str, ...] = ()


def read_ticket(tickets: CodeSigner, code: str) -> tuple[str, str]:
    try:
        fields = tickets.verify(code)
    except SignedCodeError as error:
        raise Invalid(f"ticket.{error.code}", field="ticket_code") from None
    if len(fields) != 2:
        raise Invalid("ticket.malformed", field="ticket_code")
    return fields[0], fields[1]


def check_in(
    uow: UnitOfWork,
    tickets: CodeSigner,
    staff: Staff,
    code: str,
    *,
    session_id: str | None,
    opens_minutes: int,
) -> dict:
    booking_id, course_id = read_ticket(tickets, code)
    try:
        with uow:
            conn = uow.connection
            found = repository.booking(conn, booking_id)
            course = repository.course(conn, course_id)
            if found is None or course is None or found.course_id != course_id:
                raise Invalid("ticket.unknown", field="ticket_code")
            if not (
                in_scope(course.branch_path, staff.admin_units)
                or repository.staff_may_check_in(conn, staff.id, course)
            ):
                raise Forbidden("checkin.not_your_venue")
            if found.status != "confirmed":
                raise Conflict(f"checkin.booking_{found.status}")
            sessions = repository.course_sessions(conn, course.id)
            at = now()
            if session_id is not None:
                # Named by the scanner (a venue running two sessions at once); it must be this
                # course's, and open now like any other.
                sessions = [x for x in sessions if x.id == session_id]
                if not sessions:
                    raise Invalid("ticket.other_course", field="ticket_code")
            session = model.session_for_checkin(sessions, at, opens_minutes)
            _refuse_second_scan(conn, found.id, session.id)
            repository.add_checkin(conn, found.id, session.id, staff.id, at)
            uow.emit(events.CHECKED_IN, found.member_id, event_data(found.member_id, found.id, course, at))
            uow.commit()
    except exc.IntegrityError:
        # Two scanners raced on the same ticket: the loser reports the winner's scan.
        with uow.read_only():
            _refuse_second_scan(uow.connection, booking_id, session.id)
        raise
    return {
        "booking_id": found.id,
        "session_id": session.id,
        "course": course.title,
        "person": found.person.split(":", 1)[0],
        "checked_in_at": at,
    }


def _refuse_second_scan(conn, booking_id: str, session_id: str) -> None:
    first = repository.checkin_of(conn, booking_id, session_id)
    if first is not None:
        first_at: datetime = utc(first.checked_in_at)
        raise Conflict("checkin.already", first_at=model.local_time(first_at))


def mark_no_shows(uow: UnitOfWork, *, batch: int = 200) -> int:
    """Sessions that ended: their confirmed bookings nobody checked in become no-shows. Each session
    once (marked in the same transaction), so running this again, or on two machines, adds nothing."""
    marked = 0
    while True:
        with uow:
            conn = uow.connection
            ended = repository.unmarked_ended_sessions(conn, now(), limit=batch)
            for session in ended:
                course = repository.course(conn, session.course_id)
                for missed in repository.confirmed_without_checkin(conn, session):
                    repository.add_no_show(conn, missed, session.id, now())
                    uow.emit(
                        events.NO_SHOW,
                        missed.member_id,
                        event_data(missed.member_id, missed.id, course, now()),
                    )
                    marked += 1
                repository.mark_session(conn, session.id, now())
            uow.commit()
        if len(ended) < batch:
            return marked
