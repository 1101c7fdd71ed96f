"""Object property level authorization (OWASP API3) and the ids a body names (API1), against the
world of two of everything (world.py).

A body that sets what the service decides (a status, a role, a discount, a capacity, a confirmed
seat, a branch path, another member's id) is ignored or refused, and what was stored is read back
to show it. A body naming an object of the other party (a store, a term, a member, a branch) is
refused, 403 or 404, and changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.common.clock import SHANGHAI

from .watch import Watch, said
from .world import World, unique

KEY = "Idempotency-Key"


def _key() -> dict:
    return {KEY: uuid.uuid4().hex}


def _ids_in_bodies(w: World) -> list[tuple[str, str, str, dict, set[int]]]:
    """(caller, method, path, body, refused with): a caller of A naming B's object, or of B naming A's."""
    ids = w.ids
    now = datetime.now(UTC)
    window = {
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=9)).isoformat(),
    }
    staff = {"username": unique("staff"), "password": "staff-password-1"}
    return [
        # enrolment: the tree and its logins
        ("admin_a", "POST", "/api/v1/branches", {"name": "越界分会", "parent_id": ids["city_b"]}, {404}),
        ("admin_a", "POST", "/api/v1/campaigns", {"branch_id": ids["b1"], "name": "越界"}, {404}),
        ("admin_a", "POST", "/api/v1/staff", {**staff, "roles": ["admin"], "unit_id": ids["city_b"]}, {404}),
        ("admin_a", "POST", "/api/v1/staff", {**staff, "roles": ["admin"], "unit_id": ids["root"]}, {404}),
        (
            "admin_a",
            "POST",
            "/api/v1/staff",
            {**staff, "roles": ["till"], "unit_id": ids["a1"], "store_ids": [ids["store_b"]]},
            {403},
        ),
        (
            "admin_a",
            "POST",
            "/api/v1/staff",
            {**staff, "roles": ["coordinator"], "unit_id": ids["a1"], "station_ids": [ids["station_b"]]},
            {403},
        ),
        ("admin_b", "POST", f"/api/v1/members/{ids['member_b']}/transfer", {"branch_id": ids["a1"]}, {404}),
        # courses: a term, venue or course of the other union; a ticket of another venue
        ("admin_a", "POST", "/api/v1/venues", {"name": "越界场馆", "branch_id": ids["b1"]}, {404}),
        (
            "admin_a",
            "POST",
            "/api/v1/terms",
            {
                "name": "越界学期",
                "branch_id": ids["b1"],
                "booking_opens_at": now.isoformat(),
                "booking_closes_at": (now + timedelta(days=3)).isoformat(),
                "starts_on": (now + timedelta(days=8)).date().isoformat(),
                "ends_on": (now + timedelta(days=30)).date().isoformat(),
            },
            {404},
        ),
        ("admin_a", "POST", "/api/v1/courses", _course_body(ids["term_b"]), {404}),
        ("admin_a", "POST", "/api/v1/courses", _course_body(ids["term_a"], venue_id=ids["venue_b"]), {404}),
        ("venue_b", "POST", "/api/v1/checkins", {"ticket_code": ids["ticket_a"]}, {403}),
        ("admin_b", "POST", "/api/v1/checkins", {"ticket_code": ids["ticket_a"]}, {403}),
        (
            "member_b",
            "POST",
            f"/api/v1/courses/{ids['course_a_open']}/bookings",
            {"child_id": ids["child_a"]},
            {404},
        ),
        # merchants: a merchant, store, offer or member of the other union
        (
            "admin_a",
            "POST",
            "/api/v1/merchants",
            {"name": "越界", "category": "food", "branch_id": ids["b1"]},
            {404},
        ),
        (
            "admin_a",
            "POST",
            "/api/v1/offers",
            {
                "merchant_id": ids["merchant_b"],
                "title": "越界",
                "kind": "percent",
                "percent_off": 50,
                **window,
            },
            {404},
        ),
        (
            "admin_a",
            "POST",
            f"/api/v1/merchants/{ids['merchant_a']}/staff",
            {**staff, "store_ids": [ids["store_b"]]},
            {422},  # the store is named in the body of A's own merchant: a field error
        ),
        (
            "admin_a",
            "POST",
            "/api/v1/vouchers",
            {
                "member_id": ids["member_b"],
                "value_fen": 500,
                "reason": "越界",
                "expires_at": window["ends_at"],
            },
            {404},
        ),
        # stations: a station of the other union's branch
        (
            "admin_a",
            "POST",
            "/api/v1/stations",
            {
                "name": "越界驿站",
                "address": "遵义",
                "lat": 27.7,
                "lng": 106.9,
                "branch_id": ids["b1"],
                "opening_hours": "24/7",
            },
            {404},
        ),
    ]


def _course_body(term_id: str, **extra) -> dict:
    body = {
        "term_id": term_id,
        "title": "越界课程",
        "capacity": 5,
        "schedule": {"weekdays": [1], "start": "19:00", "minutes": 60},
    }
    return {**body, **extra}


def test_an_id_of_the_other_party_in_a_body_is_refused_and_changes_nothing(world):
    wrong = []
    with Watch(world.apps) as watch:
        for caller, method, path, body, refused in _ids_in_bodies(world):
            reply = world.send(method, path, caller, body, **_key())
            changed = watch.changes()
            if reply.status_code not in refused or changed:
                note = f", and it changed {', '.join(changed)}" if changed else ""
                wrong.append(f"{caller} {method} {path} {body}: {reply.status_code} {said(reply)}{note}")
    assert not wrong, "\n".join(wrong)


def test_a_join_chooses_neither_its_status_branch_card_nor_member_id(world):
    taken = world.ok("GET", f"/api/v1/members/{world.ids['member_b']}", "admin_b")
    worker = world.enrolment.member(
        world.ids["campaign_a2_code"],  # a branch whose joins wait for approval
        status="active",
        branch_id=world.ids["b1"],
        unit_id=world.ids["b1"],
        card_no=taken["card_no"],
        member_id=world.ids["member_b"],
        roles=["admin"],
    )
    stored = world.ok("GET", f"/api/v1/members/{worker.member_id}", "admin_a")
    assert worker.member_id != world.ids["member_b"]
    assert (stored["status"], stored["branch_id"]) == ("pending", world.ids["a2"])
    assert stored["card_no"] != taken["card_no"]
    assert world.ok("GET", f"/api/v1/members/{world.ids['member_b']}", "admin_b") == taken
    refused = world.gateway.send("GET", "/api/v1/members", worker.headers)
    assert refused.status_code == 403, refused.text


def test_a_wechat_login_takes_no_roles_units_or_member_id_from_its_body(world):
    body = {
        "code": unique("code"),
        "roles": ["admin"],
        "units": [world.ids["root"]],
        "member_id": world.ids["member_b"],
    }
    login = world.ok("POST", "/api/v1/auth/wechat", "anonymous", body)
    assert login["member_id"] is None
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    for path in ("/api/v1/members", f"/api/v1/members/{world.ids['member_b']}", "/api/v1/branches"):
        assert world.gateway.send("GET", path, headers).status_code == 403, path
    assert world.gateway.send("GET", "/api/v1/bookings/me", headers).status_code == 403


def test_a_course_takes_no_status_seats_or_branch_from_the_admins_body(world):
    body = _course_body(
        world.ids["term_a"],
        status="published",
        seats_left=999,
        branch_path=[world.ids["b1"]],
        branch_id=world.ids["b1"],
        id="chosen-by-the-client",
    )
    course_id = world.created("/api/v1/courses", "admin_a", body)["id"]
    assert course_id != "chosen-by-the-client"
    assert world.send("GET", f"/api/v1/courses/{course_id}", "member_a").status_code == 404  # still a draft
    stored = world.ok("GET", f"/api/v1/courses/{course_id}", "admin_a")
    assert (stored["status"], stored["capacity"], stored["seats_left"]) == ("draft", 5, 5)
    # Its branch is the term's: B's admin does not manage it.
    assert world.send("GET", f"/api/v1/courses/{course_id}/roster", "admin_b").status_code == 404


def test_a_booking_is_the_callers_and_takes_its_seat_in_turn_whatever_the_body_says(world):
    course_id = world.course("admin_a", "term_a", capacity=1)
    world.created(f"/api/v1/courses/{course_id}/bookings", "member_a2", {})  # the only seat
    before_b = world.ok("GET", "/api/v1/bookings/me", "member_b")
    body = {
        "member_id": world.ids["member_b"],
        "status": "confirmed",
        "position": 0,
        "capacity": 100,
        "ticket_code": world.ids["ticket_b"],
    }
    booked = world.created(f"/api/v1/courses/{course_id}/bookings", "member_a", body)
    assert (booked["status"], booked["position"]) == ("waitlisted", 1)
    assert "ticket_code" not in booked
    mine = [b for b in world.ok("GET", "/api/v1/bookings/me", "member_a") if b["course_id"] == course_id]
    assert [(b["id"], b["status"]) for b in mine] == [(booked["id"], "waitlisted")]
    assert world.ok("GET", "/api/v1/bookings/me", "member_b") == before_b
    course = world.ok("GET", f"/api/v1/courses/{course_id}", "admin_a")
    assert (course["capacity"], course["seats_left"]) == (1, 0)


def test_a_child_is_registered_to_the_caller_whatever_member_the_body_names(world):
    before_b = world.ok("GET", "/api/v1/bookings/me/children", "member_b")
    body = {"name": "小明", "birth_date": "2017-09-01", "member_id": world.ids["member_b"]}
    child_id = world.created("/api/v1/bookings/me/children", "member_a", body)["id"]
    assert child_id in {c["id"] for c in world.ok("GET", "/api/v1/bookings/me/children", "member_a")}
    assert world.ok("GET", "/api/v1/bookings/me/children", "member_b") == before_b


def test_a_till_sets_neither_the_discount_nor_the_member_nor_the_merchant(world):
    sale = {
        "card_token": world.card_code("member_a"),
        "store_id": world.ids["store_a"],
        "amount_fen": 20_000,
        "discount_fen": 19_999,
        "payable_fen": 1,
        "subsidy_fen": 19_999,
        "member_id": world.ids["member_b"],
        "merchant_id": world.ids["merchant_b"],
        "card_no": "0",
    }
    made = world.created("/api/v1/redemptions", "till_a", sale, **_key())
    assert (made["discount_fen"], made["payable_fen"], made["subsidy_fen"]) == (2000, 18_000, 0)
    assert (made["member_id"], made["merchant_id"]) == (world.ids["member_a"], world.ids["merchant_a"])
    month = datetime.now(SHANGHAI).strftime("%Y-%m")
    statement = world.ok(
        "GET", f"/api/v1/merchants/{world.ids['merchant_b']}/statement?month={month}", "admin_b"
    )
    assert made["id"] not in {line["redemption_id"] for line in statement["lines"]}


@pytest.mark.parametrize(
    ("store", "offer", "refused"),
    [("store_b", None, (403, "store.not_assigned")), ("store_a", "offer_b", (422, "offer.not_of_merchant"))],
)
def test_a_till_cannot_sell_at_another_merchants_store_or_apply_its_offer(world, store, offer, refused):
    sale = {"card_token": world.card_code("member_a"), "store_id": world.ids[store], "amount_fen": 10_000}
    if offer:
        sale["offer_id"] = world.ids[offer]
    with Watch(world.apps) as watch:
        reply = world.send("POST", "/api/v1/redemptions", "till_a", sale, **_key())
        assert (reply.status_code, said(reply)) == refused
        assert watch.changes() == []


def test_a_merchant_takes_no_budget_remaining_from_the_admins_body(world):
    body = {
        "name": unique("便利店"),
        "category": "food",
        "branch_id": world.ids["a1"],
        "budget_kind": "money",
        "budget_total": 50_000,
        "budget_remaining": 10**9,
        "branch_path": [world.ids["b1"]],
    }
    merchant_id = world.created("/api/v1/merchants", "admin_a", body)["id"]
    stored = world.ok("GET", f"/api/v1/merchants/{merchant_id}", "admin_a")
    assert (stored["budget_total"], stored["budget_remaining"], stored["branch_id"]) == (
        50_000,
        50_000,
        world.ids["a1"],
    )
    assert world.send("GET", f"/api/v1/merchants/{merchant_id}", "admin_b").status_code == 404


def test_a_station_takes_no_branch_coordinators_or_poster_generation_from_a_body(world):
    extra = {
        "coordinators": [world.ids["coord_b_id"]],
        "qr_generation": 99,
        "branch_path": [world.ids["b1"]],
        "live": {"status": "open"},
    }
    body = {
        "name": unique("驿站"),
        "address": "贵阳市云岩区",
        "lat": 26.58,
        "lng": 106.72,
        "branch_id": world.ids["a1"],
        "opening_hours": "24/7",
        **extra,
    }
    station_id = world.created("/api/v1/stations", "admin_a", body)["id"]
    patch = {**extra, "branch_id": world.ids["b1"], "id": world.ids["station_b"]}
    world.ok("PATCH", f"/api/v1/stations/{station_id}", "admin_a", patch)
    stored = world.ok("GET", f"/api/v1/stations/{station_id}/manage", "admin_a")
    assert (stored["branch_id"], stored["coordinators"], stored["qr_generation"]) == (world.ids["a1"], [], 1)
    assert stored["live"]["status"] != "open"
    for caller in ("coord_b", "admin_b"):
        assert world.send("GET", f"/api/v1/stations/{station_id}/manage", caller).status_code == 404
    station_b = world.ok("GET", f"/api/v1/stations/{world.ids['station_b']}/manage", "admin_b")
    assert station_b["branch_id"] == world.ids["b1"]


def test_a_shift_is_the_volunteers_who_checked_in_whatever_member_the_body_names(world):
    body = {"station_code": world.station_code("station_a"), "member_id": world.ids["member_b"]}
    shift_id = world.created("/api/v1/shifts/checkin", "member_a2", body)["shift_id"]
    entry = {"kind": "cleaning"}
    assert world.send("POST", f"/api/v1/shifts/{shift_id}/log", "member_b", entry).status_code == 403
    world.created(f"/api/v1/shifts/{shift_id}/log", "member_a2", entry)


def test_public_answers_carry_no_property_only_staff_may_see(world):
    station = world.ok("GET", f"/api/v1/stations/{world.ids['station_a']}", "anonymous")
    assert not {"coordinators", "qr_generation", "branch_id", "branch_path"} & set(station)
    page = world.ok("GET", f"/api/v1/join/{world.ids['campaign_a1_code']}", "anonymous")
    assert not {"id", "branch_id", "code", "unit_id"} & set(page)
    course = world.ok("GET", f"/api/v1/courses/{world.ids['course_a']}", "member_b")
    assert not {"branch_path", "branch_ids", "roster", "staff"} & set(course)
