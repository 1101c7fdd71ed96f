"""What members do: register a child, book a seat or a waitlist place, cancel; and what follows a
freed seat: the head of the waitlist is promoted, skipping anyone who may no longer take it.

A booking takes its seat with one conditional UPDATE of the course row (``confirmed < capacity``),
so confirmed seats never pass capacity however many members press "book" at once; the waitlist
number comes from the same row, so the waitlist is in the order the row lock granted: arrival.
That lock is the one everybody queues for, so a booking takes it last, after its checks (which a
lock on the member's own row keeps true), and holds it for the few writes that follow.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exc

from schemas.events import courses as events
from services.common import members
from services.common.clock import local_day, now
from services.common.db import UnitOfWork
from services.common.domain import Conflict, NotFound, Unavailable
from services.common.idempotency import IdempotentRequest
from services.common.signed_codes import CodeSigner

from . import model, repository, tables
from .model import Person, Term
from .repository.rows import Booking, Course


def add_child(uow: UnitOfWork, member_id: str, *, name: str, birth_date: date) -> str:
    model.check_child_birth_date(birth_date, local_day(now()))  # a Shanghai birthday, not UTC's
    with uow:
        members.require_active(uow.connection, tables.members, member_id)
        child_id = repository.add_child(uow.connection, member_id, name, birth_date, now())
        uow.commit()
    return child_id


@dataclass(frozen=True)
class Offered:
    """A published course and its term, as booking them checks them."""

    course: Course  # its seat counts are those of when it was read: a booking reads them afresh
    term: Term


# Published courses with their terms, for the view to learn before the booking's transaction whether
# enrolment must be asked for the member's sex or age, and for the booking to check its window,
# eligibility and limits without reading them again. Safe to keep for the process's life: nothing
# changes a course or a term after it is created but a course's status, and a published course is
# never unpublished.
_PUBLISHED: dict[str, Offered] = {}


def published(uow: UnitOfWork, course_id: str) -> Offered:
    found = _PUBLISHED.get(course_id)
    if found is not None:
        return found
    with uow.read_only():
        course = repository.course(uow.connection, course_id)
        term = repository.term(uow.connection, course.term_id) if course else None
    if course is None or course.status != "published":
        raise NotFound("course.not_found")
    found = _PUBLISHED[course_id] = Offered(course, term)
    return found


# Times a booking is tried again when the course changed between its checks and its seat (the last
# seat went, or one was freed): once in a while for a few bookings as a course fills up. Past this
# it changes faster than we book, and the member is asked to try again (503).
BOOK_ATTEMPTS = 5


def book(
    uow: UnitOfWork,
    offered: Offered,
    person: Person,
    request: IdempotentRequest,
    tickets: CodeSigner,
) -> tuple[int, dict]:
    """Book ``person`` on the course: a confirmed seat with a ticket, or a place on the waitlist.

    ``person`` carries the member's sex and birth year when the course's eligibility needs them
    (asked of enrolment before this transaction: no HTTP call while the course row is locked).
    """
    try:
        for _ in range(BOOK_ATTEMPTS):
            answered = _book(uow, offered, person, request, tickets)
            if answered:
                return answered
        raise Unavailable()
    except exc.IntegrityError:
        # A twin with the same Idempotency-Key committed first (its answer is ours), or the unique
        # index refused a second booking of the same person.
        with uow.read_only():
            answered = request.answered(uow.connection)
        if answered:
            return answered
        raise Conflict("booking.duplicate") from None


def _book(
    uow: UnitOfWork, offered: Offered, person: Person, request: IdempotentRequest, tickets: CodeSigner
) -> tuple[int, dict] | None:
    """One try of ``book``; None when the course changed before its seat was taken."""
    with uow:
        conn = uow.connection
        # The member's row, locked: one member's bookings (for themselves and their children) go
        # one at a time, so the checks below hold, and a twin with the same Idempotency-Key finds
        # the first one's answer; other members are not held up.
        course, term = offered.course, offered.term
        member, checks = repository.bookable(
            conn, course.id, term.id, person.member_id, person.key, request.scope, request.key
        )
        members.check_active(member)
        answered = request.answer_of(*checks.stored)
        if answered:
            return answered
        at = now()
        term.check_booking_open(at)
        model.check_no_shows(checks.no_shows, term.no_show_limit)
        if person.child_id:
            child = repository.child(conn, person.child_id, member.member_id)
            if child is None:
                raise NotFound("child.not_found")
            person = Person(member.member_id, child.id, birth_date=child.birth_date)
        course.eligibility.check(person, member.branch_path, term.starts_on)
        if checks.duplicate:
            raise Conflict("booking.duplicate")
        if checks.seats_held >= course.seats_per_member:
            raise Conflict("booking.member_limit", limit=course.seats_per_member)
        booking_id = str(uuid.uuid4())
        booking = {
            "id": booking_id,
            "course_id": course.id,
            "term_id": term.id,
            "member_id": member.member_id,
            "child_id": person.child_id,
            "person": person.key,
            "created_at": at,
            "updated_at": at,
        }
        data = event_data(member.member_id, booking_id, course, at)
        outcome = _expected(uow, tickets, course, checks.confirmed >= course.capacity, data)
        # Only now the course's row: a seat, or the next waitlist number. Its lock orders the
        # bookings of everyone at once, so it is taken last, by the statement that writes the rest,
        # and held to its commit only.
        answer = repository.place_and_commit(uow, request, booking, outcome)
        return None if answer is None else (201, answer)


def _expected(
    uow: UnitOfWork, tickets: CodeSigner, course: Course, full: bool, data: dict
) -> repository.Outcome:
    """The outcome the course's row showed when read: a seat while one is left, else a place."""
    member_id, booking_id = data["member_id"], data["booking_id"]
    if full:
        return repository.Outcome(
            True,
            uow.event(events.WAITLISTED, member_id, {**data, "position": repository.PLACE}),
            {"id": booking_id, "status": "waitlisted", "position": repository.PLACE},
        )
    code = ticket(tickets, booking_id, course.id)
    return repository.Outcome(
        False,
        uow.event(events.BOOKED, member_id, data),
        {"id": booking_id, "status": "confirmed", "ticket_code": code},
    )


def ticket(tickets: CodeSigner, booking_id: str, course_id: str) -> str:
    return tickets.sign(booking_id, course_id)


def cancel(uow: UnitOfWork, member_id: str, booking_id: str) -> None:
    with uow:
        conn = uow.connection
        found = repository.booking(conn, booking_id)
        if found is None or found.member_id != member_id:
            raise NotFound("booking.not_found")
        course, found = _as_it_stands(conn, found)
        model.check_cancellable(
            found.status, repository.first_session(conn, course.id), course.cancel_hours, now()
        )
        _cancel(uow, found, course, "member")
        uow.commit()


def member_gone(uow: UnitOfWork, member_id: str, reason: str, before: datetime | None) -> None:
    """The member was suspended, left or erased, or the membership moved to another person: their
    future seats go to the waitlist, and with the person gone their children's details too (those
    booked and registered ``before`` a move only: after it, they are the new holder's). Runs in the
    transaction of the member event that said so."""
    conn = uow.connection
    theirs = repository.bookings_to_cancel(conn, member_id, now(), made_before=before)
    # Waitlist places first: a seat of theirs freed before would be offered to their own place in
    # line (a child's booking), announcing a promotion cancelled the moment after, or, the member
    # already inactive, cancel that place as "ineligible" rather than for the member's reason.
    for seen in sorted(theirs, key=lambda b: b.status != "waitlisted"):
        course, found = _as_it_stands(conn, seen)
        if found.status in tables.HOLDING:
            _cancel(uow, found, course, f"member_{reason}")
    if reason in ("erased", "reassigned"):
        repository.erase_children(conn, member_id, registered_before=before)


def _as_it_stands(conn, seen: Booking) -> tuple[Course, Booking]:
    """The booking's course, its row locked, and the booking as it is under that lock. Every change
    of a booking's place (a promotion, a cancel) is made holding the course row, so two cancels of
    one seat, or a cancel and the promotion of the same booking, cannot both act on what they read
    before: each frees the seat, or the waitlist place, that the booking holds now."""
    course = repository.course(conn, seen.course_id, for_update=True)
    return course, repository.booking(conn, seen.id)


def _cancel(uow: UnitOfWork, found: Booking, course: Course, reason: str) -> None:
    conn = uow.connection
    at = now()
    repository.cancel_booking(conn, found.id, reason, at)
    uow.emit(
        events.CANCELLED,
        found.member_id,
        {**event_data(found.member_id, found.id, course, at), "reason": reason},
    )
    if found.status == "confirmed":
        repository.release_seat(conn, course.id)  # locks the course row: promotions are serial
        promote(uow, course)
    elif found.status == "waitlisted":
        repository.leave_waitlist(conn, course.id)


def promote(uow: UnitOfWork, course: Course) -> None:
    """Fill free seats from the head of the waitlist, in arrival order. Someone who may no longer
    take the seat (no longer an active member, or blocked by no-shows) leaves the waitlist."""
    conn = uow.connection
    while (head := repository.waitlist_head(conn, course.id)) is not None:
        if not _still_eligible(conn, head):
            at = now()
            repository.cancel_booking(conn, head.id, "ineligible", at)
            repository.leave_waitlist(conn, course.id)
            data = {**event_data(head.member_id, head.id, course, at), "reason": "ineligible"}
            uow.emit(events.CANCELLED, head.member_id, data)
            continue
        if not repository.take_seat(conn, course.id):
            return
        at = now()
        repository.confirm_booking(conn, head.id, at)
        repository.leave_waitlist(conn, course.id)
        uow.emit(events.PROMOTED, head.member_id, event_data(head.member_id, head.id, course, at))


def _still_eligible(conn, head: Booking) -> bool:
    member = members.find(conn, tables.members, head.member_id)
    if member is None or not member.active:
        return False
    term = repository.term(conn, head.term_id)
    return not (
        term.no_show_limit and repository.no_show_count(conn, head.member_id, term.id) >= term.no_show_limit
    )


def event_data(member_id: str, booking_id: str, course: Course, at) -> dict:
    return {
        "member_id": member_id,
        "booking_id": booking_id,
        "course_id": course.id,
        "term_id": course.term_id,
        "occurred_at": at,
    }
