"""Who may book what (children's ages, women only, certain branches), admins' reach, rosters, and
what a member's erasure leaves behind."""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time
from types import SimpleNamespace

from sqlalchemy import func, select

from schemas.events import courses as ev
from schemas.events import members as m
from services.common.clock import SHANGHAI
from services.courses import booking, tables
from tests.support import deliver, member_event


def _child(api, member, years: int) -> str:
    born = date(date.today().year - years, 1, 1).isoformat()
    return api.ok(
        "POST", "/api/v1/bookings/me/children", api.auth(member), {"name": "王小明", "birth_date": born}, 201
    )["id"]


def test_a_kids_course_is_booked_for_a_child_whose_age_fits(api):
    course = api.course(title="少儿篮球", category="kids", min_age=6, max_age=12, capacity=5)
    parent = api.member()

    for_self = api.book(parent, course)
    too_old = api.book(parent, course, child_id=_child(api, parent, 15))
    fits = api.book(parent, course, child_id=_child(api, parent, 8))

    assert (for_self.status_code, for_self.json()["code"]) == (422, "booking.child_required")
    assert (too_old.status_code, too_old.json()["code"]) == (422, "booking.age_not_eligible")
    assert fits.status_code == 201, fits.text


def test_a_child_born_today_in_shanghai_is_registered_before_utc_reaches_that_day(api, monkeypatch):
    born = date(2027, 3, 2)
    two_in_the_morning = datetime.combine(born, time(2), SHANGHAI).astimezone(UTC)  # 1 March in UTC
    monkeypatch.setattr(booking, "now", lambda: two_in_the_morning)
    parent = api.member()

    added = api.send(
        "POST",
        "/api/v1/bookings/me/children",
        api.auth(parent),
        {"name": "王小宝", "birth_date": born.isoformat()},
    )

    assert added.status_code == 201, added.text


def test_someone_elses_child_cannot_be_booked(api):
    course = api.course(min_age=6, max_age=12)
    parent, other = api.member(), api.member()

    refused = api.book(other, course, child_id=_child(api, parent, 8))

    assert (refused.status_code, refused.json()["code"]) == (404, "child.not_found")


def test_seats_per_member_limits_a_parent_booking_several_children(api):
    course = api.course(min_age=6, max_age=12, capacity=10, seats_per_member=2)
    parent = api.member()
    answers = [api.book(parent, course, child_id=_child(api, parent, 7 + i)).status_code for i in range(3)]

    assert answers[:2] == [201, 201]
    assert answers[2] == 409


def test_a_women_only_course_asks_enrolment_for_the_members_sex(api):
    course = api.course(title="女职工防身术", women_only=True)

    woman = api.book(api.member(sex="female"), course)
    man = api.book(api.member(sex="male"), course)

    assert woman.status_code == 201
    assert (man.status_code, man.json()["code"]) == (403, "booking.women_only")


def test_a_course_for_certain_branches_refuses_members_of_others(api):
    course = api.course(branch_ids=["b-1"])

    assert api.book(api.member(branch="b-1"), course).status_code == 201
    refused = api.book(api.member(branch="b-2"), course)
    assert (refused.status_code, refused.json()["code"]) == (403, "booking.branch_not_eligible")


def test_the_course_list_shows_a_member_only_the_courses_their_branch_may_book(api):
    term = api.term()
    for_b1 = api.course(term, branch_ids=["b-1"], title="书法")
    for_all = api.course(term, title="瑜伽")
    listing = f"/api/v1/courses?term_id={term}"

    seen_in_b1 = {c["id"] for c in api.ok("GET", listing, api.member(branch="b-1"))}
    seen_in_b2 = {c["id"] for c in api.ok("GET", listing, api.member(branch="b-2"))}
    seen_by_admin = {c["id"] for c in api.ok("GET", listing, api.admin)}

    assert seen_in_b1 == seen_by_admin == {for_b1, for_all}
    assert seen_in_b2 == {for_all}  # as booking would answer 403 booking.branch_not_eligible


def test_an_admin_reaches_only_their_subtree(api, token_mint):
    course = api.course(publish=False)
    outsider = token_mint.admin("b-2")

    assert api.send("GET", f"/api/v1/courses/{course}/roster", outsider).status_code == 404
    assert api.send("POST", f"/api/v1/courses/{course}/publish", outsider).status_code == 404
    assert api.send("GET", f"/api/v1/courses/{course}", outsider).status_code == 404  # a draft
    term = api.send(
        "POST",
        "/api/v1/terms",
        outsider,
        {
            "name": "越权",
            "branch_id": "b-1",
            "booking_opens_at": "2027-01-01T00:00:00+08:00",
            "booking_closes_at": "2027-01-10T00:00:00+08:00",
            "starts_on": "2027-01-11",
            "ends_on": "2027-02-11",
        },
    )
    assert (term.status_code, term.json()["code"]) == (404, "branch.not_found")


def test_the_roster_shows_card_numbers_and_masked_children_and_exports_as_csv(api):
    course = api.course(min_age=6, max_age=12, capacity=1)
    parent, other = api.member(), api.member()
    api.book(parent, course, child_id=_child(api, parent, 8))
    api.book(other, course, child_id=_child(api, other, 9))

    roster = api.ok("GET", f"/api/v1/courses/{course}/roster", api.admin)
    csv_reply = api.send("GET", f"/api/v1/courses/{course}/roster.csv", api.admin)

    assert [(r["status"], r["child"]) for r in roster] == [("confirmed", "王**"), ("waitlisted", "王**")]
    assert all(r["card_no"] for r in roster)
    lines = csv_reply.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("booking_id,status") and len(lines) == 3
    assert "王小明" not in csv_reply.text


def test_a_roster_export_is_audited_before_it_leaves_and_no_cell_runs_as_a_formula(api, token_mint):
    course = api.course(min_age=6, max_age=12)
    parent = api.member()
    born = date(date.today().year - 8, 1, 1).isoformat()
    child = api.ok(
        "POST",
        "/api/v1/bookings/me/children",
        api.auth(parent),
        {"name": "=HYPERLINK(1)", "birth_date": born},
        201,
    )
    api.book(parent, course, child_id=child["id"])
    assert api.ok("GET", f"/api/v1/courses/{course}/audit", api.admin) == []
    api.ok("GET", f"/api/v1/courses/{course}/roster", api.admin)  # masked, read in place: not an export
    assert api.ok("GET", f"/api/v1/courses/{course}/audit", api.admin) == []

    csv_reply = api.send("GET", f"/api/v1/courses/{course}/roster.csv", api.admin)

    (line,) = csv_reply.text.lstrip("\ufeff").splitlines()[1:]
    assert ",'=**," in line  # the masked name, read as text
    (entry,) = api.ok("GET", f"/api/v1/courses/{course}/audit", api.admin)
    assert (entry["action"], entry["fields"]) == ("export_roster", ["count=1"])
    assert entry["actor"].startswith("staff:") and entry["request_id"]
    assert entry["at"].endswith("+00:00")
    outsider = token_mint.admin("b-2")
    assert api.send("GET", f"/api/v1/courses/{course}/audit", outsider).status_code == 404
    assert api.send("GET", f"/api/v1/courses/{course}/roster.csv", outsider).status_code == 404
    assert len(api.ok("GET", f"/api/v1/courses/{course}/audit", api.admin)) == 1  # refused: not recorded


def test_erasure_deletes_the_members_children_and_frees_their_seats(api):
    course = api.course(min_age=6, max_age=12)
    parent = api.member()
    api.book(parent, course, child_id=_child(api, parent, 8))

    deliver(api.app, member_event(m.LEFT, parent["member_id"], reason="erased"))

    db = api.app.extensions["unionhub"].db
    with db.engine.connect() as conn:
        children = conn.execute(select(func.count()).select_from(tables.children)).scalar_one()
    assert children == 0
    assert api.ok("GET", f"/api/v1/courses/{course}", api.admin)["seats_left"] == 2


def test_a_membership_moved_to_another_person_leaves_them_no_child_or_seat_of_the_previous_holder(api):
    course = api.course(min_age=6, max_age=12, capacity=1)
    parent, waiting = api.member(), api.member()
    child = _child(api, parent, 8)
    api.book(parent, course, child_id=child)
    api.book(waiting, course, child_id=_child(api, waiting, 9))

    # An identity dispute's decision: the same member id now serves the claimant.
    deliver(api.app, member_event(m.REASSIGNED, parent["member_id"]))

    assert api.ok("GET", "/api/v1/bookings/me/children", api.auth(parent)) == []
    cancelled = api.my_bookings(parent)[0]
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "member_reassigned")
    assert api.my_bookings(waiting)[0]["status"] == "confirmed"
    # The membership itself carries on: the claimant books as the member, and no child is theirs.
    again = api.book(parent, course, child_id=child)
    assert (again.status_code, again.json()["code"]) == (404, "child.not_found")


def test_a_move_arriving_late_leaves_the_new_holder_what_they_arranged_since(api):
    before, since = api.course(min_age=6, max_age=12), api.course(min_age=6, max_age=12)
    member = api.member()
    api.book(member, before, child_id=_child(api, member, 8))
    moved_at = datetime.now(UTC)  # the dispute's decision; its event dead-lettered for a while
    # Meanwhile the person now holding the membership registers their own child and books.
    theirs = _child(api, member, 7)
    assert api.book(member, since, child_id=theirs).status_code == 201

    deliver(api.app, member_event(m.REASSIGNED, member["member_id"], occurred_at=moved_at.isoformat()))

    assert [c["id"] for c in api.ok("GET", "/api/v1/bookings/me/children", api.auth(member))] == [theirs]
    status = {b["course_id"]: b["status"] for b in api.my_bookings(member)}
    assert status == {before: "cancelled", since: "confirmed"}


def test_the_previous_holders_token_stops_reaching_a_membership_moved_to_another_person(api, monkeypatch):
    api.app.extensions["unionhub"].moved_memberships.refresh_seconds = 0  # not waiting for the next read
    member = api.member()
    booked = api.book(member, api.course()).json()
    assert api.send("GET", "/api/v1/bookings/me", api.auth(member)).status_code == 200

    deliver(api.app, member_event(m.REASSIGNED, member["member_id"]))

    # The previous holder's token, 15 minutes to live, no longer names the membership here.
    listed = api.send("GET", "/api/v1/bookings/me", api.auth(member))
    cancel = api.send("DELETE", f"/api/v1/bookings/{booked['id']}", api.auth(member))
    assert (listed.status_code, listed.json()["code"]) == (401, "token_invalid")
    assert cancel.status_code == 401
    # The person now holding it logs in after the decision, and is served.
    later = clock.time() + 2
    monkeypatch.setattr("services.enrolment.tokens.time", SimpleNamespace(time=lambda: later))
    theirs = api.mint.member(member["member_id"])
    assert api.send("GET", "/api/v1/bookings/me", theirs).status_code == 200


def test_a_member_suspended_with_a_seat_and_a_place_in_line_is_told_of_no_promotion(api):
    course = api.course(min_age=6, max_age=12, capacity=1, seats_per_member=2)
    parent = api.member()
    api.book(parent, course, child_id=_child(api, parent, 8))  # the seat
    api.book(parent, course, child_id=_child(api, parent, 9))  # next in line, for the other child
    booked = len(api.outbox_types())

    deliver(api.app, member_event(m.SUSPENDED, parent["member_id"]))

    assert api.outbox_types()[booked:] == [ev.CANCELLED, ev.CANCELLED]
    reasons = [(b["status"], b["cancel_reason"]) for b in api.my_bookings(parent)]
    assert reasons == [("cancelled", "member_suspended")] * 2


def test_bad_course_input_names_the_fields_and_creates_nothing(api):
    term = api.term()
    reply = api.send(
        "POST",
        "/api/v1/courses",
        api.admin,
        {
            "term_id": term,
            "title": "",
            "capacity": 0,
            "schedule": {"weekdays": [8], "start": "25:00", "minutes": 60},
        },
    )

    assert reply.status_code == 422
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    fields = {e["field"] for e in reply.json()["errors"]}
    assert {"title", "capacity"} <= fields and any(f.startswith("schedule") for f in fields)
    assert api.ok("GET", f"/api/v1/courses?term_id={term}", api.admin) == []


def test_a_schedule_time_with_a_newline_or_a_weekday_with_a_fraction_is_refused(api):
    term = api.term()
    for schedule in (
        {"weekdays": [2], "start": "19:00\n", "minutes": 60},  # a 500 on PostgreSQL's String(5)
        {"weekdays": [2], "start": "1٩:00", "minutes": 60},  # not an ASCII digit
        {"weekdays": [2.5], "start": "19:00", "minutes": 60},
    ):
        reply = api.send(
            "POST",
            "/api/v1/courses",
            api.admin,
            {"term_id": term, "title": "瑜伽", "capacity": 5, "schedule": schedule},
        )
        assert reply.status_code == 422, schedule
        assert [e["field"] for e in reply.json()["errors"]][0].startswith("schedule.")
    assert api.ok("GET", f"/api/v1/courses?term_id={term}", api.admin) == []


def test_a_replayed_member_event_changes_nothing(api):
    member = api.member()
    event = member_event(m.SUSPENDED, member["member_id"])

    outcomes = deliver(api.app, event, event)

    assert [o.value for o in outcomes] == ["applied", "duplicate"]


def test_a_term_beyond_the_years_every_engine_reads_back_is_refused_by_field(api):
    far = {"booking_closes_at": "9999-12-31T23:59:59-05:00", "ends_on": "9999-12-31"}
    body = {"name": "远期", "branch_id": "b-1", "booking_opens_at": "2027-01-01T00:00:00+08:00"}

    term = api.send("POST", "/api/v1/terms", api.admin, {**body, "starts_on": "2027-01-11", **far})

    assert term.status_code == 422
    assert sorted((e["field"], e["code"]) for e in term.json()["errors"]) == [
        ("booking_closes_at", "date.out_of_range"),
        ("ends_on", "date.out_of_range"),
    ]
    with api.app.extensions["unionhub"].db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tables.terms)).scalar_one() == 0
