"""Members browse and book; a full course waitlists in arrival order; freed seats promote the head."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.events import courses as ev
from schemas.events import members as m
from tests.support import deliver, member_event


def test_a_member_sees_published_courses_of_the_open_term_with_seats_left(api):
    term = api.term()
    shown = api.course(term, capacity=3)
    api.course(term, title="草稿课程", publish=False)
    member = api.member()
    api.book(member, shown)

    listed = api.ok("GET", f"/api/v1/courses?term_id={term}", api.auth(member))

    assert [(c["id"], c["seats_left"]) for c in listed] == [(shown, 2)]
    assert api.ok("GET", "/api/v1/courses", api.auth(member))[0]["id"] == shown


def test_the_weekly_schedule_plans_every_session_in_the_term(api):
    term = api.term(starts_on="2027-03-01", ends_on="2027-03-14")  # two weeks from a Monday
    created = api.ok(
        "POST",
        "/api/v1/courses",
        api.admin,
        {
            "term_id": term,
            "title": "游泳",
            "capacity": 10,
            "schedule": {"weekdays": [1, 3, 5], "start": "18:30", "minutes": 60},
        },
        201,
    )
    detail = api.ok("GET", f"/api/v1/courses/{created['id']}", api.admin)

    assert created["sessions"] == 6
    # 18:30 in Guizhou is 10:30 UTC.
    assert detail["sessions"][0]["starts_at"].startswith("2027-03-01T10:30:00")


def test_seats_are_confirmed_with_a_ticket_until_full_then_the_waitlist_numbers_arrivals(api):
    course = api.course(capacity=2)
    members = [api.member() for _ in range(4)]

    answers = [api.book(x, course).json() for x in members]

    assert [a["status"] for a in answers] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert all(a["ticket_code"].startswith("T1.") for a in answers[:2])
    assert [a.get("position") for a in answers[2:]] == [1, 2]
    assert api.outbox_types().count(ev.BOOKED) == 2 and api.outbox_types().count(ev.WAITLISTED) == 2


def test_a_cancelled_seat_goes_to_the_head_of_the_waitlist(api):
    course = api.course(capacity=1)
    first, second, third = api.member(), api.member(), api.member()
    seat = api.book(first, course).json()
    api.book(second, course)
    api.book(third, course)

    api.ok("DELETE", f"/api/v1/bookings/{seat['id']}", api.auth(first))

    assert api.my_bookings(second)[0]["status"] == "confirmed"
    assert "ticket_code" in api.my_bookings(second)[0]
    assert api.my_bookings(third)[0]["position"] == 1
    assert ev.PROMOTED in api.outbox_types()
    listed = api.ok("GET", f"/api/v1/courses/{course}", api.auth(first))
    assert listed["seats_left"] == 0


def test_leaving_the_waitlist_moves_everyone_behind_up(api):
    course = api.course(capacity=1)
    api.book(api.member(), course)
    second, third = api.member(), api.member()
    place = api.book(second, course).json()
    api.book(third, course)

    api.ok("DELETE", f"/api/v1/bookings/{place['id']}", api.auth(second))

    assert api.my_bookings(third)[0]["position"] == 1


def test_one_person_never_holds_two_bookings_for_one_course(api):
    course = api.course(capacity=5)
    member = api.member()
    assert api.book(member, course).status_code == 201

    again = api.book(member, course)

    assert again.status_code == 409
    assert again.json()["code"] == "booking.duplicate"


def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer_and_books_once(api):
    course = api.course(capacity=5)
    member = api.member()

    first = api.book(member, course, key="k-1")
    again = api.book(member, course, key="k-1")

    assert first.status_code == 201 and again.status_code == 201
    assert again.json() == first.json()
    assert len(api.my_bookings(member)) == 1


def test_a_suspended_or_unknown_member_is_refused_with_the_reason(api, token_mint):
    course = api.course()
    member = api.member()
    deliver(api.app, member_event(m.SUSPENDED, member["member_id"]))
    stranger = token_mint.member("never-joined")

    suspended = api.book(member, course)
    unknown = api.book(stranger, course)

    assert (suspended.status_code, suspended.json()["code"]) == (403, "member.suspended")
    assert (unknown.status_code, unknown.json()["code"]) == (403, "member.unknown")


def test_a_member_who_is_suspended_loses_their_seat_to_the_waitlist(api):
    course = api.course(capacity=1)
    holder, waiting = api.member(), api.member()
    api.book(holder, course)
    api.book(waiting, course)

    deliver(api.app, member_event(m.SUSPENDED, holder["member_id"]))

    assert api.my_bookings(waiting)[0]["status"] == "confirmed"
    cancelled = api.my_bookings(holder)[0]
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "member_suspended")


def test_booking_outside_the_window_is_refused_and_changes_nothing(api):
    later = datetime.now(UTC) + timedelta(days=1)
    term = api.term(
        booking_opens_at=later.isoformat(), booking_closes_at=(later + timedelta(days=3)).isoformat()
    )
    course = api.course(term)
    member = api.member()

    refused = api.book(member, course, **{})

    assert refused.status_code == 422
    assert refused.json()["code"] == "booking.not_open_yet"
    assert api.my_bookings(member) == []
    assert api.ok("GET", f"/api/v1/courses/{course}", api.auth(member))["seats_left"] == 2


def test_refusals_speak_english_when_asked(api):
    course = api.course()
    member = api.member()
    api.book(member, course)

    again = api.send(
        "POST", f"/api/v1/courses/{course}/bookings", {**api.auth(member), "Accept-Language": "en"}, {}
    )

    assert again.headers["Content-Type"].startswith("application/problem+json")
    assert "already has a seat" in again.json()["detail"]


def test_cancelling_a_seat_closes_at_the_deadline_but_the_waitlist_may_always_be_left(api, clock):
    course = api.course(capacity=1, cancel_hours=24)
    holder, waiting = api.member(), api.member()
    seat = api.book(holder, course).json()
    place = api.book(waiting, course).json()
    first_session = datetime.fromisoformat(
        api.ok("GET", f"/api/v1/courses/{course}", api.admin)["first_session"]
    )
    clock(first_session - timedelta(hours=23))

    late = api.send("DELETE", f"/api/v1/bookings/{seat['id']}", api.auth(holder))
    leave = api.send("DELETE", f"/api/v1/bookings/{place['id']}", api.auth(waiting))

    assert (late.status_code, late.json()["code"]) == (409, "booking.cancel_deadline_passed")
    assert leave.status_code == 200


def test_a_member_cannot_cancel_someone_elses_booking(api):
    course = api.course()
    owner, other = api.member(), api.member()
    seat = api.book(owner, course).json()

    refused = api.send("DELETE", f"/api/v1/bookings/{seat['id']}", api.auth(other))

    assert refused.status_code == 404
    assert api.my_bookings(owner)[0]["status"] == "confirmed"


def test_a_new_waitlist_place_counts_only_those_still_waiting_ahead(api):
    course = api.course(capacity=1)
    holder = api.member()
    seat = api.book(holder, course).json()
    waiting = [api.member() for _ in range(3)]
    places = [api.book(w, course).json() for w in waiting]
    api.ok("DELETE", f"/api/v1/bookings/{places[1]['id']}", api.auth(waiting[1]))  # leaves the list
    api.ok("DELETE", f"/api/v1/bookings/{seat['id']}", api.auth(holder))  # the head is promoted

    latecomer = api.book(api.member(), course).json()

    assert latecomer["position"] == 2  # behind waiting[2] only
    assert api.my_bookings(waiting[2])[0]["position"] == 1
