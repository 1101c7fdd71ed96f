"""The authorization matrix: for every operation whose path names an object, which callers of the
cast (world.CAST) may act on party A's object. Everyone else must be refused, 403 or 404 (401
without a token), and nothing may change.

A row names its path parameters by the world's object names, or by a factory that makes a fresh
object when acting on it changes what other rows rely on (suspending a member, revoking a poster,
checking a shift out). ``owner`` then does it and must get ``expect``: the proof that the ids are
real and the refusals came from the rule, not from a wrong id. The owner may stand outside the
cast (member_a2, on a shift of their own). A row whose ids belong to two parties (a store of
merchant B under merchant A) allows nobody and has no owner.

test_authorization_matrix.py fails when an operation with an id in its path is in a service's
OpenAPI document and not here, or here and no longer in any document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services.common.clock import SHANGHAI

from .world import CAST, World, this_monday, unique

Ref = str | Callable[[World], str]  # an object name in World.ids, or a factory of a fresh one

EVERYONE = frozenset(CAST)
SIGNED_IN = EVERYONE - {"anonymous"}
MEMBERS = frozenset({"member_a", "member_b"})
NOBODY: frozenset[str] = frozenset()
ADMIN_A = frozenset({"admin_a"})
STATION_A = frozenset({"admin_a", "coord_a"})  # admins over the station, and its own coordinator


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # as in the OpenAPI document
    params: dict[str, Ref]
    allowed: frozenset[str]
    owner: str | None
    expect: int = 200
    body: Any = None  # or a factory of it
    query: str = ""
    idempotent: bool = False  # each call carries an Idempotency-Key of its own
    label: str = ""  # tells apart rows of the same operation
    why: str = ""

    @property
    def operation(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.label}]" if self.label else "")

    def resolve(self, world: World) -> tuple[str, Any]:
        """The concrete path (fresh objects made now) and body."""
        values = {name: ref(world) if callable(ref) else world.ids[ref] for name, ref in self.params.items()}
        body = self.body(world) if callable(self.body) else self.body
        world.pump()
        return self.path.format(**values) + self.query, body


def admin_only(method: str, path: str, params: dict[str, Ref], *, expect: int = 200, **extra) -> Case:
    return Case(
        method, path, params, ADMIN_A, "admin_a", expect, why="an admin of the object's union", **extra
    )


def station_staff(method: str, path: str, params: dict[str, Ref], *, expect: int = 200, **extra) -> Case:
    why = "admins over the station and the coordinators stations assigned to it"
    return Case(method, path, params, STATION_A, "coord_a", expect, why=why, **extra)


def _month() -> str:
    return datetime.now(SHANGHAI).strftime("%Y-%m")


def _next_free_monday() -> str:
    # After the world's three weeks of rota, so the owner's rota replaces none of the duties other
    # rows swap.
    return (date.fromisoformat(this_monday()) + timedelta(weeks=4)).isoformat()


def _fresh_registration_grant(world: World) -> str:
    """A grant letting a new coordinator login register stations under A1, for the row that revokes it."""
    staff_id, _ = world.new_staff("admin_a", "coordinator", "a1")
    body = {"staff_id": staff_id, "branch_id": world.ids["a1"]}
    return world.created("/api/v1/stations/registration-grants", "admin_a", body)["id"]


M = "/api/v1/members/{member_id}"
C = "/api/v1/campaigns/{campaign_id}"
S = "/api/v1/stations/{station_id}"

CASES: list[Case] = [
    # --- enrolment ----------------------------------------------------------------------------------
    admin_only("GET", "/api/v1/branches/{unit_id}", {"unit_id": "a1"}),
    admin_only("GET", C, {"campaign_id": "campaign_a1"}),
    admin_only("GET", f"{C}/qr.png", {"campaign_id": "campaign_a1"}),
    admin_only("GET", f"{C}/qr.svg", {"campaign_id": "campaign_a1"}),
    admin_only("GET", f"{C}/stats", {"campaign_id": "campaign_a1"}),
    admin_only("POST", f"{C}/revoke", {"campaign_id": World.fresh_campaign}),
    Case(
        "GET",
        "/api/v1/join/{code}",
        {"code": "campaign_a1_code"},
        EVERYONE,
        "anonymous",
        why="the page behind a printed poster is public; it names the campaign and branch only",
    ),
    admin_only("GET", M, {"member_id": "member_a"}),
    admin_only("GET", f"{M}/personal-data", {"member_id": "member_a"}),
    admin_only("POST", f"{M}/approve", {"member_id": lambda w: w.fresh_member("pending")}, body={}),
    admin_only(
        "POST", f"{M}/reject", {"member_id": lambda w: w.fresh_member("pending")}, body={"reason": "资料不符"}
    ),
    admin_only("POST", f"{M}/suspend", {"member_id": World.fresh_member}, body={"reason": "矩阵测试"}),
    admin_only("POST", f"{M}/reinstate", {"member_id": lambda w: w.fresh_member("suspended")}, body={}),
    admin_only("POST", f"{M}/leave", {"member_id": World.fresh_member}, body={"reason": "退会"}),
    admin_only(
        "POST", f"{M}/transfer", {"member_id": World.fresh_member}, body=lambda w: {"branch_id": w.ids["a2"]}
    ),
    admin_only(
        "POST",
        "/api/v1/disputes/{dispute_id}/resolve",
        {"dispute_id": World.fresh_dispute},
        body={"outcome": "keep"},
    ),
    # --- web: the pages, which hold no one's objects -------------------------------------------------
    Case(
        "GET",
        "/app/join/{code}",
        {"code": "campaign_a1_code"},
        EVERYONE,
        "anonymous",
        why="the H5 page behind a poster is public; what it shows comes from the join API",
    ),
    Case(
        "GET",
        "/app/static/{name}",
        {"name": lambda w: "app.css"},
        EVERYONE,
        "anonymous",
        why="the pages' own scripts and styles",
    ),
    Case(
        "GET",
        "/app/vendor/{package}/{name}",
        {"package": lambda w: "-", "name": lambda w: "-"},
        EVERYONE,
        None,
        why="files of an allow-list of npm packages (installed or not: no owner proof)",
    ),
    # --- courses ------------------------------------------------------------------------------------
    Case(
        "GET",
        "/api/v1/courses/{course_id}",
        {"course_id": "course_a"},
        SIGNED_IN,
        "member_b",
        label="published",
        why="a published course is for every member to find",
    ),
    admin_only("GET", "/api/v1/courses/{course_id}", {"course_id": "course_a_draft"}, label="draft"),
    admin_only("GET", "/api/v1/courses/{course_id}/roster", {"course_id": "course_a"}),
    admin_only("GET", "/api/v1/courses/{course_id}/roster.csv", {"course_id": "course_a"}),
    admin_only("GET", "/api/v1/courses/{course_id}/audit", {"course_id": "course_a"}),
    admin_only("GET", "/api/v1/courses/{course_id}/attendance", {"course_id": "course_a"}),
    admin_only(
        "POST",
        "/api/v1/venues/{venue_id}/staff",
        {"venue_id": "venue_a"},
        expect=201,
        body=lambda w: {"staff_id": w.ids["venue_a_id"]},
    ),
    admin_only(
        "POST",
        "/api/v1/courses/{course_id}/publish",
        {"course_id": lambda w: w.fresh_course(publish=False)},
        expect=204,
    ),
    admin_only(
        "POST",
        "/api/v1/courses/{course_id}/staff",
        {"course_id": "course_a"},
        expect=201,
        body=lambda w: {"staff_id": w.ids["venue_a_id"]},
    ),
    Case(
        "POST",
        "/api/v1/courses/{course_id}/bookings",
        {"course_id": lambda w: w.fresh_course()},
        MEMBERS,
        "member_b",
        201,
        body={},
        label="open to all",
        why="a course without a branch list takes any active member",
    ),
    Case(
        "POST",
        "/api/v1/courses/{course_id}/bookings",
        {"course_id": "course_a_only"},
        frozenset({"member_a"}),
        "member_a",
        201,
        body={},
        label="branch A1 only",
        why="a course limited to branches takes only their members",
    ),
    Case(
        "POST",
        "/api/v1/courses/{course_id}/bookings",
        {"course_id": "course_a_open"},
        frozenset({"member_a"}),
        "member_a",
        201,
        body=lambda w: {"child_id": w.ids["child_a"]},
        label="for a child",
        why="only the member who registered a child books for it",
    ),
    Case(
        "GET",
        "/api/v1/bookings/{booking_id}/ticket.png",
        {"booking_id": "booking_a"},
        frozenset({"member_a"}),
        "member_a",
        why="a ticket is its holder's",
    ),
    Case(
        "DELETE",
        "/api/v1/bookings/{booking_id}",
        {"booking_id": World.fresh_booking},
        frozenset({"member_a"}),
        "member_a",
        why="only the member who booked cancels",
    ),
    # --- merchants ----------------------------------------------------------------------------------
    admin_only("GET", "/api/v1/merchants/{merchant_id}", {"merchant_id": "merchant_a"}),
    admin_only("GET", "/api/v1/merchants/{merchant_id}/stores", {"merchant_id": "merchant_a"}),
    admin_only(
        "GET",
        "/api/v1/merchants/{merchant_id}/statement",
        {"merchant_id": "merchant_a"},
        query=f"?month={_month()}",
    ),
    admin_only(
        "POST",
        "/api/v1/merchants/{merchant_id}/stores",
        {"merchant_id": "merchant_a"},
        expect=201,
        body={"name": "新店", "lat": 26.6, "lng": 106.7},
    ),
    admin_only(
        "PATCH",
        "/api/v1/merchants/{merchant_id}/stores/{store_id}",
        {"merchant_id": "merchant_a", "store_id": "store_a"},
        body={"open": True},
    ),
    Case(
        "PATCH",
        "/api/v1/merchants/{merchant_id}/stores/{store_id}",
        {"merchant_id": "merchant_a", "store_id": "store_b"},
        NOBODY,
        None,
        body={"open": False},
        label="store of another merchant",
        why="a store is changed only under its own merchant",
    ),
    admin_only(
        "POST",
        "/api/v1/merchants/{merchant_id}/staff",
        {"merchant_id": "merchant_a"},
        expect=201,
        body=lambda w: {
            "username": unique("till"),
            "password": "staff-password-1",
            "store_ids": [w.ids["store_a"]],
        },
    ),
    Case(
        "POST",
        "/api/v1/redemptions/{redemption_id}/reversal",
        {"redemption_id": "redemption_a"},
        frozenset({"till_a"}),
        "till_a",
        201,
        body={"amount_fen": 100},
        idempotent=True,
        why="a refund is made by a till of the store that took the sale",
    ),
    # --- stations -----------------------------------------------------------------------------------
    Case(
        "GET",
        S,
        {"station_id": "station_a"},
        EVERYONE,
        "anonymous",
        why="the finder's station page is public",
    ),
    station_staff("GET", f"{S}/manage", {"station_id": "station_a"}),
    station_staff("GET", f"{S}/qr.png", {"station_id": "station_a"}),
    station_staff("GET", f"{S}/stats", {"station_id": "station_a"}),
    station_staff("GET", f"{S}/issues", {"station_id": "station_a"}),
    station_staff("GET", f"{S}/duty-groups", {"station_id": "station_a"}),
    station_staff("GET", f"{S}/duties", {"station_id": "station_a"}),
    station_staff("GET", f"{S}/swaps", {"station_id": "station_a"}),
    station_staff("GET", f"{S}/lockers/left-behind", {"station_id": "station_a"}),
    station_staff("PATCH", S, {"station_id": "station_a"}, body={"opening_hours": "24/7"}),
    admin_only(
        "POST",
        f"{S}/coordinators",
        {"station_id": "station_a"},
        expect=201,
        body=lambda w: {"staff_id": w.ids["coord_a_id"]},
    ),
    admin_only(
        "DELETE",
        f"{S}/coordinators/{{staff_id}}",
        {"station_id": "station_a", "staff_id": World.fresh_coordinator},
        expect=204,
    ),
    station_staff("POST", f"{S}/qr/revoke", {"station_id": World.fresh_station}),
    admin_only(
        "DELETE",
        "/api/v1/stations/registration-grants/{grant_id}",
        {"grant_id": _fresh_registration_grant},
        expect=204,
    ),
    Case(
        "POST",
        f"{S}/issues",
        {"station_id": "station_a"},
        MEMBERS,
        "member_b",
        201,
        body={"category": "power", "note": "插座没电"},
        why="any courier reports a problem at any station",
    ),
    station_staff(
        "POST",
        f"{S}/issues/{{issue_id}}/resolve",
        {"station_id": "station_a", "issue_id": World.fresh_issue},
        expect=204,
        body={},
    ),
    Case(
        "POST",
        f"{S}/issues/{{issue_id}}/resolve",
        {"station_id": "station_b", "issue_id": World.fresh_issue},
        NOBODY,
        None,
        body={},
        label="issue of another station",
        why="an issue is resolved only under its own station",
    ),
    station_staff(
        "POST",
        f"{S}/duty-groups",
        {"station_id": "station_a"},
        expect=201,
        body=lambda w: {"name": unique("组"), "member_ids": [w.ids["member_a"]]},
    ),
    station_staff(
        "POST",
        f"{S}/rota",
        {"station_id": "station_a"},
        expect=201,
        body=lambda w: {"start": _next_free_monday(), "weeks": 1, "group_ids": [w.ids["group_a"]]},
    ),
    Case(
        "POST",
        f"{S}/duties/{{duty_id}}/swaps",
        {"station_id": "station_a", "duty_id": World.free_duty},
        frozenset({"member_a"}),
        "member_a",
        201,
        body=lambda w: {"to_member_id": w.ids["member_a2"]},
        why="a volunteer offers only a duty of their own group",
    ),
    Case(
        "POST",
        f"{S}/duties/{{duty_id}}/swaps",
        {"station_id": "station_b", "duty_id": World.free_duty},
        NOBODY,
        None,
        body=lambda w: {"to_member_id": w.ids["member_a2"]},
        label="duty of another station",
        why="a duty is offered only under its own station",
    ),
    Case(
        "POST",
        f"{S}/swaps/{{swap_id}}/accept",
        {"station_id": "station_a", "swap_id": World.fresh_swap},
        frozenset({"member_b"}),
        "member_b",
        204,
        why="only the volunteer a swap was asked of accepts it",
    ),
    Case(
        "POST",
        "/api/v1/shifts/{shift_id}/log",
        {"shift_id": "shift_a"},
        frozenset({"member_a"}),
        "member_a",
        201,
        body={"kind": "lights", "value": "on"},
        why="a duty log is written by the volunteer on the shift",
    ),
    Case(
        "POST",
        "/api/v1/shifts/{shift_id}/checkout",
        {"shift_id": World.fresh_shift},
        NOBODY,
        "member_a2",
        why="only the volunteer on the shift checks it out (member_a2, outside the cast, is on it)",
    ),
    Case(
        "POST",
        f"{S}/lockers/deposits",
        {"station_id": "station_a"},
        MEMBERS,
        "member_b",
        201,
        body={},
        idempotent=True,
        why="station lockers are for any courier",
    ),
    Case(
        "POST",
        f"{S}/lockers/pickups",
        {"station_id": "station_a"},
        MEMBERS,
        "member_a",
        body=lambda w: {"pickup_code": w.fresh_deposit()},
        label="with the code",
        why="the pickup code is the key: a courier may hand it to a colleague",
    ),
    Case(
        "POST",
        f"{S}/lockers/pickups",
        {"station_id": "station_b"},
        NOBODY,
        None,
        body=lambda w: {"pickup_code": w.fresh_deposit()},
        label="code of another station",
        why="a pickup code opens a locker only at the station that issued it",
    ),
]
