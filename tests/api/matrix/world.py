"""Two of everything, made through the APIs of every service built in-process (tests/support.py
``every_service``), with member and station events carried between them by ``EventPump``.

Party A and party B each have a union (a city union; A's has an open branch A1 and a branch A2
whose joins need approval, B's an open branch B1) with its admin, a member, a merchant with a store,
an offer and a till, a station with a coordinator, a duty group and a rota, a venue with its
check-in staff, a term with a course and a booking, a redemption, a volunteer on shift. A is given
more (a second member, a draft course, courses open to all or to A1 only) because the matrix
points B's callers at A's objects; B's objects are there so that every caller of B really is the
member, admin or staff of something.

Requests go to the service that owns the path, chosen by the registry's routes as the gateway does.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from services.common.clock import SHANGHAI
from services.registry import SERVICES
from tests.support import ADMIN_PASSWORD, STAFF_PASSWORD, EventPump, Reply

# Tokens are minted once for the whole module and must outlive it; joins and logins are many.
SETTINGS = {
    "enrolment": {
        "admin_password": ADMIN_PASSWORD,
        "access_token_ttl": 3600,
        "login_limit_per_minute": 100_000,
        "join_limit_per_hour": 100_000,
        "sms_limit_per_hour": 100_000,
    },
    "merchants": {"redeem_limit_per_minute": 100_000},
}

# The callers the matrix points at party A's objects. "wechat" has logged in but not joined.
CAST = (
    "anonymous",
    "wechat",
    "admin_a",
    "admin_b",
    "member_a",
    "member_b",
    "till_a",
    "till_b",
    "coord_a",
    "coord_b",
    "venue_a",
    "venue_b",
)

_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_serial)}-{uuid.uuid4().hex[:6]}"


class Gateway:
    """Sends a request to the in-process app that serves its path, by the registry's routes."""

    def __init__(self, apps: dict[str, Flask]):
        self.routes = sorted(
            ((prefix, apps[name]) for name, s in SERVICES.items() if name in apps for prefix in s.routes),
            key=lambda route: -len(route[0]),
        )

    def app_for(self, path: str) -> Flask:
        for prefix, app in self.routes:
            if path.startswith(prefix):
                return app
        raise LookupError(f"no service routes {path}")

    def send(self, method: str, path: str, headers: dict | None = None, json: Any = None) -> Reply:
        response = (
            self.app_for(path).test_client().open(path, method=method, headers=headers or {}, json=json)
        )
        return Reply(response.status_code, response.headers, response.get_data(), response)


@dataclass
class World:
    apps: dict[str, Flask]
    gateway: Gateway
    pump: EventPump
    enrolment: Any  # tests.api.enrolment.conftest.EnrolmentApi
    headers: dict[str, dict] = field(default_factory=dict)  # caller → Authorization header
    ids: dict[str, str] = field(default_factory=dict)  # object name → id (or code)
    duties_taken: set[str] = field(default_factory=set)

    # --- plain calls --------------------------------------------------------------------------------

    def send(self, method: str, path: str, caller: str | None = None, json: Any = None, **headers) -> Reply:
        return self.gateway.send(
            method, path, {**self.headers.get(caller or "anonymous", {}), **headers}, json
        )

    def ok(self, method: str, path: str, caller: str, json: Any = None, expect: int = 200, **headers) -> Any:
        reply = self.send(method, path, caller, json, **headers)
        assert reply.status_code == expect, (
            f"{caller} {method} {path}: {reply.status_code} {reply.text[:500]}"
        )
        return reply.json()

    def created(self, path: str, caller: str, json: Any = None, **headers) -> Any:
        return self.ok("POST", path, caller, json, 201, **headers)

    # --- enrolment ------------------------------------------------------------------------------------

    def staff_login(self, caller: str, username: str) -> None:
        self.headers[caller] = self.enrolment.as_staff(username, STAFF_PASSWORD)

    def new_staff(self, admin: str, role: str, unit: str) -> tuple[str, str]:
        """A staff login of ``role`` in ``unit``, made by ``admin``; (staff id, username)."""
        username = unique(role)
        body = {"username": username, "password": STAFF_PASSWORD, "roles": [role], "unit_id": self.ids[unit]}
        return self.created("/api/v1/staff", admin, body)["id"], username

    def join(self, campaign: str, **overrides) -> Any:
        """A worker who joined through ``campaign`` (real-name check and SMS code), known to every
        service once the events are pumped."""
        worker = self.enrolment.member(self.ids[campaign], **overrides)
        self.pump()
        return worker

    def member(self, caller: str, campaign: str) -> str:
        worker = self.join(campaign)
        self.headers[caller] = worker.headers
        self.ids[caller] = worker.member_id
        return worker.member_id

    def fresh_member(self, status: str = "active") -> str:
        """A member of A's union for one row that changes its state: active (branch A1), pending
        (A2, approval) or suspended."""
        if status == "pending":
            return self.join("campaign_a2_code").member_id
        member_id = self.join("campaign_a1_code").member_id
        if status == "suspended":
            self.ok("POST", f"/api/v1/members/{member_id}/suspend", "admin_a", {"reason": "matrix"})
            self.pump()
        return member_id

    def fresh_dispute(self) -> str:
        """An open dispute over a member of A1: another WeChat user verified with the same ID number."""
        held = self.join("campaign_a1_code")
        response, _ = self.enrolment.join(self.ids["campaign_a1_code"], id_number=held.body["id_number"])
        assert response.status_code == 409, response.get_json()
        disputes = self.ok("GET", "/api/v1/disputes?status=open", "admin_a")
        return next(d["id"] for d in disputes if d["member_id"] == held.member_id)

    def fresh_campaign(self) -> str:
        return self.created(
            "/api/v1/campaigns", "admin_a", {"branch_id": self.ids["a1"], "name": unique("扫码")}
        )["id"]

    # --- courses --------------------------------------------------------------------------------------

    def term(self, admin: str, branch: str) -> str:
        today = datetime.now(SHANGHAI).date()
        body = {
            "name": unique("职工大学堂"),
            "branch_id": self.ids[branch],
            "booking_opens_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "booking_closes_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            "starts_on": (today + timedelta(days=8)).isoformat(),
            "ends_on": (today + timedelta(days=60)).isoformat(),
        }
        return self.created("/api/v1/terms", admin, body)["id"]

    def course(self, admin: str, term: str, *, publish: bool = True, **overrides) -> str:
        body = {
            "term_id": self.ids[term],
            "title": unique("瑜伽"),
            "category": "yoga",
            "capacity": 10,
            "cancel_hours": 0,
            "schedule": {"weekdays": [2, 4], "start": "19:00", "minutes": 90},
            **overrides,
        }
        course_id = self.created("/api/v1/courses", admin, body)["id"]
        if publish:
            self.ok("POST", f"/api/v1/courses/{course_id}/publish", admin, expect=204)
        return course_id

    def fresh_course(self, *, publish: bool = True) -> str:
        return self.course("admin_a", "term_a", publish=publish, venue_id=self.ids["venue_a"])

    def fresh_booking(self) -> str:
        """A confirmed seat of member_a on a course of its own."""
        course_id = self.fresh_course()
        return self.created(f"/api/v1/courses/{course_id}/bookings", "member_a", {})["id"]

    # --- merchants ------------------------------------------------------------------------------------

    def card_code(self, caller: str) -> str:
        return self.ok("GET", "/api/v1/members/me/card/token", caller)["token"]

    def redeem(self, till: str, member: str, store: str, amount_fen: int = 10_000) -> dict:
        sale = {"card_token": self.card_code(member), "store_id": self.ids[store], "amount_fen": amount_fen}
        return self.created("/api/v1/redemptions", till, sale, **{"Idempotency-Key": uuid.uuid4().hex})

    # --- stations -------------------------------------------------------------------------------------

    def station_code(self, station: str, admin: str = "admin_a") -> str:
        """What the station's poster QR says (tests/e2e decode the image; here the signer is asked)."""
        ext = self.apps["stations"].extensions["stations"]
        manage = self.ok("GET", f"/api/v1/stations/{self.ids[station]}/manage", admin)
        return ext.signer.sign(manage["id"], str(manage["qr_generation"]))

    def free_duty(self) -> str:
        """A duty of A's group at station A still to come and still the group's: each swap row
        takes its own, since a swapped duty is no longer the requester's."""
        duties = self.ok("GET", f"/api/v1/stations/{self.ids['station_a']}/duties", "admin_a")
        soon = datetime.now(UTC) + timedelta(hours=1)
        for duty in duties:
            free = duty["status"] == "scheduled" and duty["member_id"] is None
            if free and datetime.fromisoformat(duty["at"]) > soon and duty["id"] not in self.duties_taken:
                self.duties_taken.add(duty["id"])
                return duty["id"]
        raise AssertionError("the rota has no duty left to swap; make it longer")

    def fresh_swap(self) -> str:
        """A swap member_a asked of member_b."""
        station = self.ids["station_a"]
        body = {"to_member_id": self.ids["member_b"]}
        return self.created(f"/api/v1/stations/{station}/duties/{self.free_duty()}/swaps", "member_a", body)[
            "id"
        ]

    def fresh_issue(self) -> str:
        body = {"category": "water", "note": "饮水机坏了"}
        return self.created(f"/api/v1/stations/{self.ids['station_a']}/issues", "member_a", body)["id"]

    def fresh_shift(self) -> str:
        """An open shift of member_a2 at station A (member_a's own shift stays open for other rows)."""
        body = {"station_code": self.station_code("station_a")}
        return self.created("/api/v1/shifts/checkin", "member_a2", body)["shift_id"]

    def fresh_deposit(self) -> str:
        """A pickup code for items member_a left in a locker at station A."""
        path = f"/api/v1/stations/{self.ids['station_a']}/lockers/deposits"
        return self.created(path, "member_a", {}, **{"Idempotency-Key": uuid.uuid4().hex})["pickup_code"]

    def fresh_coordinator(self) -> str:
        """A coordinator login assigned to station A, for the row that takes one off."""
        staff_id, _ = self.new_staff("admin_a", "coordinator", "a1")
        self.created(
            f"/api/v1/stations/{self.ids['station_a']}/coordinators", "admin_a", {"staff_id": staff_id}
        )
        return staff_id

    def fresh_station(self) -> str:
        """A station of A1 run by coord_a, for the row that revokes its poster."""
        station_id = self.station("admin_a", "a1")
        self.created(
            f"/api/v1/stations/{station_id}/coordinators", "admin_a", {"staff_id": self.ids["coord_a_id"]}
        )
        return station_id

    def station(self, admin: str, branch: str) -> str:
        body = {
            "name": unique("骑手驿站"),
            "address": "贵阳市南明区",
            "lat": 26.57,
            "lng": 106.71,
            "branch_id": self.ids[branch],
            "amenities": ["water", "charging"],
            "opening_hours": "24/7",
            "lockers": 20,
        }
        return self.created("/api/v1/stations", admin, body)["id"]


def this_monday() -> str:
    today = datetime.now(SHANGHAI).date()
    return (today - timedelta(days=today.weekday())).isoformat()


def build_world(apps: dict[str, Flask]) -> World:
    from tests.api.enrolment.conftest import EnrolmentApi

    enrolment = EnrolmentApi(apps["enrolment"].test_client(), apps["enrolment"])
    w = World(apps, Gateway(apps), EventPump(apps), enrolment)
    ids, created = w.ids, w.created

    # --- the union tree, its admins, members and staff logins ----------------------------------------
    w.headers["anonymous"] = {}
    w.headers["federation"] = enrolment.admin()
    w.headers["wechat"] = enrolment.wechat().headers
    ids["root"] = enrolment.root_id()
    for unit, body in (
        ("city_a", {"name": "贵阳市总工会", "parent_id": ids["root"], "kind": "city"}),
        ("city_b", {"name": "遵义市总工会", "parent_id": ids["root"], "kind": "city"}),
    ):
        ids[unit] = created("/api/v1/branches", "federation", body)["id"]
    for unit, parent, approval in (("a1", "city_a", False), ("a2", "city_a", True), ("b1", "city_b", False)):
        body = {"name": unique("分会"), "parent_id": ids[parent], "requires_approval": approval}
        ids[unit] = created("/api/v1/branches", "federation", body)["id"]
    for party in "ab":
        username = unique(f"admin-{party}")
        body = {
            "username": username,
            "password": STAFF_PASSWORD,
            "roles": ["admin"],
            "unit_id": ids[f"city_{party}"],
        }
        created("/api/v1/staff", "federation", body)
        w.staff_login(f"admin_{party}", username)
    for campaign, admin, branch in (
        ("campaign_a1", "admin_a", "a1"),
        ("campaign_a2", "admin_a", "a2"),
        ("campaign_b1", "admin_b", "b1"),
    ):
        made = created("/api/v1/campaigns", admin, {"branch_id": ids[branch], "name": unique("扫码入会")})
        ids[campaign], ids[f"{campaign}_code"] = made["id"], made["code"]
    w.member("member_a", "campaign_a1_code")
    w.member("member_a2", "campaign_a1_code")
    w.member("member_b", "campaign_b1_code")

    # --- courses: a venue with its check-in staff, a term, courses and bookings, for each party --------
    for party, branch in (("a", "a1"), ("b", "b1")):
        admin = f"admin_{party}"
        ids[f"venue_{party}"] = created(
            "/api/v1/venues", admin, {"name": unique("场馆"), "branch_id": ids[branch]}
        )["id"]
        staff_id, username = w.new_staff(admin, "venue", branch)
        created(f"/api/v1/venues/{ids[f'venue_{party}']}/staff", admin, {"staff_id": staff_id})
        ids[f"venue_{party}_id"] = staff_id
        w.staff_login(f"venue_{party}", username)
        ids[f"term_{party}"] = w.term(admin, branch)
        ids[f"course_{party}"] = w.course(admin, f"term_{party}", venue_id=ids[f"venue_{party}"])
        booked = created(f"/api/v1/courses/{ids[f'course_{party}']}/bookings", f"member_{party}", {})
        ids[f"booking_{party}"], ids[f"ticket_{party}"] = booked["id"], booked["ticket_code"]
        child = {"name": unique("孩子"), "birth_date": "2018-05-01"}
        ids[f"child_{party}"] = created("/api/v1/bookings/me/children", f"member_{party}", child)["id"]
    ids["course_a_open"] = w.fresh_course()
    ids["course_a_draft"] = w.fresh_course(publish=False)
    ids["course_a_only"] = w.course("admin_a", "term_a", branch_ids=[ids["a1"]])

    # --- merchants: a merchant with a store, an offer and a till, for each party -----------------------
    starts, ends = datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(days=30)
    for party, branch in (("a", "a1"), ("b", "b1")):
        admin = f"admin_{party}"
        body = {"name": unique("华联超市"), "category": "supermarket", "branch_id": ids[branch]}
        merchant = ids[f"merchant_{party}"] = created("/api/v1/merchants", admin, body)["id"]
        store = {"name": unique("门店"), "lat": 26.58, "lng": 106.71}
        ids[f"store_{party}"] = created(f"/api/v1/merchants/{merchant}/stores", admin, store)["id"]
        username = unique(f"till-{party}")
        till = {"username": username, "password": STAFF_PASSWORD, "store_ids": [ids[f"store_{party}"]]}
        created(f"/api/v1/merchants/{merchant}/staff", admin, till)
        w.staff_login(f"till_{party}", username)
        offer = {
            "merchant_id": merchant,
            "title": "九折",
            "kind": "percent",
            "percent_off": 10,
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
        }
        ids[f"offer_{party}"] = created("/api/v1/offers", admin, offer)["id"]
    for party in "ab":
        ids[f"redemption_{party}"] = w.redeem(f"till_{party}", f"member_{party}", f"store_{party}")["id"]

    # --- stations: a station with its coordinator, a duty group and a rota, for each party -------------
    for party, branch in (("a", "a1"), ("b", "b1")):
        admin = f"admin_{party}"
        station = ids[f"station_{party}"] = w.station(admin, branch)
        staff_id, username = w.new_staff(admin, "coordinator", branch)
        created(f"/api/v1/stations/{station}/coordinators", admin, {"staff_id": staff_id})
        ids[f"coord_{party}_id"] = staff_id
        w.staff_login(f"coord_{party}", username)
        volunteers = [ids["member_a"], ids["member_a2"]] if party == "a" else [ids["member_b"]]
        group = {"name": unique("值班组"), "member_ids": volunteers}
        ids[f"group_{party}"] = created(f"/api/v1/stations/{station}/duty-groups", admin, group)["id"]
        rota = {"start": this_monday(), "weeks": 3, "group_ids": [ids[f"group_{party}"]]}
        created(f"/api/v1/stations/{station}/rota", admin, rota)
        ids[f"issue_{party}"] = created(
            f"/api/v1/stations/{station}/issues", f"member_{party}", {"category": "water"}
        )["id"]
    for party in "ab":
        checkin = {"station_code": w.station_code(f"station_{party}", f"admin_{party}")}
        ids[f"shift_{party}"] = created("/api/v1/shifts/checkin", f"member_{party}", checkin)["shift_id"]
    w.pump()
    return w
