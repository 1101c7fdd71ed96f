"""Venue staff scan tickets: only staff this service assigned, once per session; no-shows follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.events import courses as ev
from schemas.events import members as m
from services.common.signed_codes import CodeSigner
from services.courses import attendance
from tests.support import deliver, member_event


def _venue(api, staff_id: str | None = None) -> str:
    venue = api.ok("POST", "/api/v1/venues", api.admin, {"name": "市工人文化宫", "branch_id": "b-1"}, 201)[
        "id"
    ]
    if staff_id:
        api.ok("POST", f"/api/v1/venues/{venue}/staff", api.admin, {"staff_id": staff_id}, 201)
    return venue


def _booked(api, clock, **course):
    """A confirmed seat on a course at a venue, with the clock in its first session."""
    venue = _venue(api, "desk-1")
    course_id = api.course(venue_id=venue, **course)
    member = api.member()
    seat = api.book(member, course_id).json()
    detail = api.ok("GET", f"/api/v1/courses/{course_id}", api.admin)
    first = detail["sessions"][0]
    clock(datetime.fromisoformat(first["starts_at"]) + timedelta(minutes=5))
    return course_id, member, seat, first


def test_staff_of_the_venue_check_a_ticket_in_once_and_a_second_scan_says_when(api, clock, token_mint):
    _, _, seat, session = _booked(api, clock)
    desk = token_mint.staff("desk-1", "venue")

    first = api.send("POST", "/api/v1/checkins", desk, {"ticket_code": seat["ticket_code"]})
    again = api.send("POST", "/api/v1/checkins", desk, {"ticket_code": seat["ticket_code"]})

    assert first.status_code == 200, first.text
    assert first.json()["session_id"] == session["id"]
    assert (again.status_code, again.json()["code"]) == (409, "checkin.already")
    assert again.json()["first_at"] in again.json()["detail"]
    assert api.outbox_types().count(ev.CHECKED_IN) == 1


def test_staff_of_another_venue_get_403_even_with_a_staff_token(api, clock, token_mint):
    _, _, seat, _ = _booked(api, clock)
    _venue(api, "desk-2")  # assigned, but elsewhere

    refused = api.send(
        "POST", "/api/v1/checkins", token_mint.staff("desk-2", "venue"), {"ticket_code": seat["ticket_code"]}
    )

    assert (refused.status_code, refused.json()["code"]) == (403, "checkin.not_your_venue")


def test_staff_assigned_to_the_course_alone_may_check_in(api, clock, token_mint):
    course, _, seat, _ = _booked(api, clock)
    api.ok("POST", f"/api/v1/courses/{course}/staff", api.admin, {"staff_id": "coach-1"}, 201)

    ok = api.send(
        "POST", "/api/v1/checkins", token_mint.staff("coach-1", "venue"), {"ticket_code": seat["ticket_code"]}
    )

    assert ok.status_code == 200


def test_forged_truncated_and_foreign_tickets_are_refused_and_change_nothing(api, clock, token_mint):
    course, _, seat, _ = _booked(api, clock)
    other_course = api.course()
    other_session = api.ok("GET", f"/api/v1/courses/{other_course}", api.admin)["sessions"][0]["id"]
    desk = token_mint.staff("desk-1", "venue")
    code = seat["ticket_code"]
    forged = code[:-2] + ("AA" if not code.endswith("AA") else "BB")
    stranger = CodeSigner(b"s" * 32, purpose="course-ticket", prefix="T1").sign(seat["id"], course)

    answers = {
        "forged": api.send("POST", "/api/v1/checkins", desk, {"ticket_code": forged}),
        "truncated": api.send("POST", "/api/v1/checkins", desk, {"ticket_code": code[:20]}),
        "other key": api.send("POST", "/api/v1/checkins", desk, {"ticket_code": stranger}),
        "other course": api.send(
            "POST", "/api/v1/checkins", desk, {"ticket_code": code, "session_id": other_session}
        ),
    }

    assert {k: (r.status_code, r.json()["code"]) for k, r in answers.items()} == {
        "forged": (422, "ticket.signature"),
        "truncated": (422, "ticket.malformed"),
        "other key": (422, "ticket.signature"),
        "other course": (422, "ticket.other_course"),
    }
    assert all(r.json()["errors"][0]["field"] == "ticket_code" for r in answers.values()), answers[
        "forged"
    ].text
    assert ev.CHECKED_IN not in api.outbox_types()


def test_no_session_open_means_no_check_in(api, clock, token_mint):
    _, _, seat, session = _booked(api, clock)
    clock(datetime.fromisoformat(session["starts_at"]) - timedelta(hours=3))

    refused = api.send(
        "POST", "/api/v1/checkins", token_mint.staff("desk-1", "venue"), {"ticket_code": seat["ticket_code"]}
    )

    assert (refused.status_code, refused.json()["code"]) == (409, "checkin.no_session_now")


def test_missed_sessions_become_no_shows_once_and_enough_of_them_block_booking(api, clock):
    # Booking stays open through the term, as for courses members may join late.
    term = api.term(no_show_limit=1, booking_closes_at=(datetime.now(UTC) + timedelta(days=90)).isoformat())
    course, member, _, session = _booked(api, clock, term_id=term)
    clock(datetime.fromisoformat(session["ends_at"]) + timedelta(minutes=1))
    uow = api.app.extensions["unionhub"].db.unit_of_work

    assert attendance.mark_no_shows(uow()) == 1
    assert attendance.mark_no_shows(uow()) == 0  # each session once

    attendance_rows = api.ok("GET", f"/api/v1/courses/{course}/attendance", api.admin)
    assert attendance_rows[0]["no_shows"] == 1 and attendance_rows[1]["no_shows"] is None
    blocked = api.book(member, api.course(term))
    assert (blocked.status_code, blocked.json()["code"]) == (403, "booking.blocked_no_shows")
    assert api.outbox_types().count(ev.NO_SHOW) == 1


def test_a_member_promoted_after_a_session_started_is_no_no_show_of_it(api, clock):
    term = api.term(booking_closes_at=(datetime.now(UTC) + timedelta(days=90)).isoformat())
    course = api.course(term, venue_id=_venue(api, "desk-1"), capacity=1)
    holder, waiting = api.member(), api.member()
    assert [api.book(x, course).json()["status"] for x in (holder, waiting)] == ["confirmed", "waitlisted"]
    session = api.ok("GET", f"/api/v1/courses/{course}", api.admin)["sessions"][0]
    clock(datetime.fromisoformat(session["starts_at"]) + timedelta(minutes=30))
    # The holder is suspended during the session: the seat goes to the waitlist then, not before it.
    deliver(api.app, member_event(m.SUSPENDED, holder["member_id"]))
    assert [b["status"] for b in api.my_bookings(waiting)] == ["confirmed"]
    clock(datetime.fromisoformat(session["ends_at"]) + timedelta(minutes=1))

    assert attendance.mark_no_shows(api.app.extensions["unionhub"].db.unit_of_work()) == 0
    assert ev.NO_SHOW not in api.outbox_types()
