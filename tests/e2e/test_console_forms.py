"""The admin console's forms (services/web/static/admin.js) through the gateway, against the running
system: each request is the one a form sends, its body built from what an admin types by the rules
of admin.js's payload(), and what it made is read back where the console, the till or a member
reads it.

No browser runs here, so the helpers below mirror payload()'s conversions (data-fen, data-steps,
data-moment, data-number, data-budget): keep them in step with admin.js and app.js's fen().
"""

from __future__ import annotations

import random
import re
import uuid
from datetime import datetime, timedelta

import pytest
import requests

from services.common.clock import SHANGHAI
from tests.e2e.journey import Journey, Place, join, until

PAGE = {"Accept": "application/json", "Accept-Language": "en"}  # what app.js's api() sends


# ---- admin.js's payload(), for the inputs these forms have ------------------------------------------
def fen(typed: str) -> int | None:
    """app.js fen(): yuan typed, read as a decimal string, so "1234567.89" is 123456789 fen exactly
    (a float would make it 123456788.99999999)."""
    match = re.fullmatch(r"\s*(\d{1,7})(?:\.(\d{1,2}))?\s*", typed)
    return None if match is None else int(match[1]) * 100 + int((match[2] or "").ljust(2, "0"))


def money(typed: str) -> int | str | None:
    """data-fen, and data-budget when the budget is money: blank is null, text that is no amount is
    sent as typed (the API's message then lands under the field)."""
    typed = typed.strip()
    return None if typed == "" else fen(typed) if fen(typed) is not None else typed


def number(typed: str) -> int | float | str | None:
    """data-number: blank is null, a number is sent as one, anything else as typed."""
    typed = typed.strip()
    if typed == "":
        return None
    try:
        value = float(typed)
    except ValueError:
        return typed
    return int(value) if value.is_integer() else value


def steps(typed: str) -> list[list[int]] | str | None:
    """data-steps: 满减 steps typed as "100:10, 200:25" become [[10000, 1000], [20000, 2500]]."""
    if not typed:
        return None
    pairs = [[fen(x) for x in re.split(r"[:：/]", p)] for p in re.split(r"[,，;；\s]+", typed) if p]
    return pairs if all(len(p) == 2 and None not in p for p in pairs) else typed


def moment(typed: datetime) -> str:
    """data-moment: a datetime-local input's "YYYY-MM-DDTHH:MM", sent as Shanghai time."""
    return f"{typed.strftime('%Y-%m-%dT%H:%M')}:00+08:00"


def slot(field: str, slots: set[str]) -> str:
    """admin.js placeErrors(): a nested error ("benefit_weeks.0.1") goes under the nearest field shown."""
    while "." in field and field not in slots:
        field = field.rsplit(".", 1)[0]
    return field


class Console:
    """The admin's tab: the requests admin.js sends with the admin's token."""

    def __init__(self, gateway: str, admin: requests.Session):
        self.journey = Journey(gateway, admin)
        self.admin = admin
        self.suffix = self.journey.suffix

    def url(self, path: str) -> str:
        return self.journey.url(path)

    def get(self, path: str, **params):
        reply = self.admin.get(self.url(path), params=params, headers=PAGE, timeout=10)
        assert reply.status_code == 200, f"{path}: {reply.status_code} {reply.text}"
        return reply.json()

    def submit(self, path: str, body: dict) -> requests.Response:
        return self.admin.post(self.url(path), json=body, headers=PAGE, timeout=10)

    def create(self, path: str, body: dict) -> dict:
        reply = self.submit(path, body)
        assert reply.status_code == 201, f"{path}: {reply.status_code} {reply.text}"
        return reply.json()

    def refused(self, path: str, body: dict, slots: set[str]) -> dict[str, str]:
        """A form the API refuses: each field error under its slot, in the page's language."""
        reply = self.submit(path, body)
        assert reply.status_code == 422, reply.text
        assert reply.headers["Content-Type"].startswith("application/problem+json")
        errors = {slot(e["field"], slots): e["message"] for e in reply.json()["errors"]}
        assert set(errors) <= slots, errors  # every message has a place beside its field
        assert all(re.search(r"[A-Za-z]", message) for message in errors.values())  # English, as asked
        return errors

    def branch(self) -> dict:
        root = next(u for u in self.get("/api/v1/branches") if not u["parent_id"])
        return self.create(
            "/api/v1/branches", {"name": f"表单测试分会{self.suffix}", "parent_id": root["id"]}
        )


@pytest.fixture
def console(gateway, admin) -> Console:
    return Console(gateway, admin)


def test_the_course_forms_set_up_a_kids_course_at_a_venue_which_waits_as_a_draft_until_published(console):
    c = console
    branch = c.branch()
    venue = c.create(
        "/api/v1/venues", {"name": f"游泳馆{c.suffix}", "address": None, "branch_id": branch["id"]}
    )
    assert venue["id"] in {v["id"] for v in c.get("/api/v1/venues")}  # the course form's venue choices
    now = datetime.now(SHANGHAI)
    term = c.create(
        "/api/v1/terms",
        {
            "name": f"表单学期{c.suffix}",
            "branch_id": branch["id"],
            "booking_opens_at": moment(now - timedelta(hours=1)),
            "booking_closes_at": moment(now + timedelta(days=7)),
            "starts_on": (now.date() + timedelta(days=8)).isoformat(),
            "ends_on": (now.date() + timedelta(days=60)).isoformat(),
            "no_show_limit": number(""),
        },
    )
    shown = next(x for x in c.get("/api/v1/terms/managed") if x["id"] == term["id"])
    typed = (now - timedelta(hours=1)).replace(second=0, microsecond=0)
    assert datetime.fromisoformat(shown["booking_opens_at"]) == typed  # the Shanghai time typed, kept
    kids = {
        "term_id": term["id"],
        "title": "少儿游泳",
        "category": "kids",
        "teacher": "李教练",
        "venue_id": venue["id"],
        "capacity": number("12"),
        "seats_per_member": number("2"),
        "schedule": {"start": "09:30", "minutes": number("60"), "weekdays": [6, 7]},
        "cancel_hours": number("48"),
        "min_age": number("6"),
        "max_age": number("12"),
        "women_only": False,  # a named checkbox, unticked
        "branch_ids": [branch["id"]],  # the multiple select, one branch chosen
        "description": None,
    }
    women = {  # blanks: no teacher, venue, seats (omitted: the API's 1), ages or branches
        "term_id": term["id"],
        "title": "女职工瑜伽",
        "category": "yoga",
        "teacher": None,
        "venue_id": None,
        "capacity": number("20"),
        "schedule": {"start": "19:00", "minutes": number("90"), "weekdays": [2, 4]},
        "cancel_hours": number("24"),
        "min_age": None,
        "max_age": None,
        "women_only": True,
        "branch_ids": None,
        "description": "面向女职工",
    }
    made = [c.create("/api/v1/courses", body) for body in (kids, women)]
    assert all(m["sessions"] > 0 for m in made)  # the form's "draft created with n sessions"

    drafts = c.get("/api/v1/courses", status="draft", limit=200)  # showDrafts()
    ours = {m["id"] for m in made}  # other admins' tests may be making drafts meanwhile
    assert [d["id"] for d in drafts if d["id"] in ours] == [made[1]["id"], made[0]["id"]]  # newest first
    assert {d["id"] for d in c.get("/api/v1/courses", term_id=term["id"])}.isdisjoint(m["id"] for m in made)
    detail = c.get(f"/api/v1/courses/{made[0]['id']}")
    assert {k: detail[k] for k in ("status", "venue", "min_age", "max_age", "women_only")} == {
        "status": "draft",
        "venue": f"游泳馆{c.suffix}",
        "min_age": 6,
        "max_age": 12,
        "women_only": False,
    }
    assert (detail["seats_per_member"], detail["branch_ids"], detail["cancel_hours"]) == (
        2,
        [branch["id"]],
        48,
    )
    assert detail["schedule"] == {"weekdays": [6, 7], "start": "09:30", "minutes": 60}
    other = c.get(f"/api/v1/courses/{made[1]['id']}")
    assert (other["women_only"], other["venue"], other["seats_per_member"], other["branch_ids"]) == (
        True,
        None,
        1,
        None,
    )

    for course in made:  # the drafts box's Publish
        published = c.admin.post(c.url(f"/api/v1/courses/{course['id']}/publish"), headers=PAGE, timeout=10)
        assert published.status_code == 204, published.text
    assert {d["id"] for d in c.get("/api/v1/courses", status="draft", limit=200)}.isdisjoint(
        m["id"] for m in made
    )
    listed = c.get("/api/v1/courses", term_id=term["id"])  # showCourses(term)
    assert {x["id"] for x in listed} == {m["id"] for m in made}


def test_the_merchant_forms_make_offers_and_a_till_login_that_the_till_then_applies(console):
    c = console
    branch = c.branch()
    campaign = c.create("/api/v1/campaigns", {"branch_id": branch["id"], "name": "表单扫码入会"})
    merchant = c.create(
        "/api/v1/merchants",
        {
            "name": f"表单超市{c.suffix}",
            "category": "supermarket",
            "branch_id": branch["id"],
            "union_share_percent": number("0"),
            "budget_kind": None,
            "budget_total": None,
        },
    )
    lat, lng = round(random.uniform(44, 46), 5), round(random.uniform(86, 88), 5)  # alone on the map
    store = c.create(
        f"/api/v1/merchants/{merchant['id']}/stores",
        {"name": "表单店", "address": None, "lat": lat, "lng": lng, "opens_at": None, "closes_at": None},
    )
    till = c.create(
        f"/api/v1/merchants/{merchant['id']}/staff",
        {"username": f"form-till-{c.suffix}", "password": "till-password-9", "store_ids": [store["id"]]},
    )
    assert (till["username"], till["store_ids"]) == (f"form-till-{c.suffix}", [store["id"]])

    now = datetime.now(SHANGHAI)
    today, weekday = now.date(), now.isoweekday()

    def offer(title: str, kind: str, **fields) -> dict:
        """The offer form: blanks as the form sends them, then what was typed or picked."""
        body = {
            "merchant_id": merchant["id"],
            "title": title,
            "kind": kind,
            "starts_at": moment(now - timedelta(hours=1)),
            "ends_at": moment(now + timedelta(days=10)),
            "hours_from": None,
            "hours_to": None,
            "member_limit": None,
            "limit_period": None,
            "budget_kind": None,
            "budget_total": None,
            "weekdays": [],  # no day ticked: every day
            "benefit_weeks": None,  # no week filled in
            **fields,
        }
        return c.create("/api/v1/offers", body)

    stepped = offer(
        "满100减10，满200.5减25.05",
        "threshold",
        steps=steps("100:10，200.5：25.05"),
        weekdays=[weekday],
        benefit_weeks=[
            [(today - timedelta(days=1)).isoformat(), (today + timedelta(days=5)).isoformat()],
            [(today + timedelta(days=20)).isoformat(), (today + timedelta(days=26)).isoformat()],
        ],
        member_limit=number("1"),
        limit_period="day",
        budget_kind="money",
        budget_total=money("1234567.89"),
    )
    capped = offer(
        "五折，最高12.34元",
        "percent",
        percent_off=number("50"),
        cap_fen=money("12.34"),
        budget_kind="count",
        budget_total=number("50"),
    )
    later = (now + timedelta(hours=2)).strftime("%H:%M"), (now + timedelta(hours=3)).strftime("%H:%M")
    not_now = [  # each would beat the others on any bill here, were it valid now
        offer("晚间立减30", "fixed", fixed_fen=money("30"), hours_from=later[0], hours_to=later[1]),
        offer(
            "他日立减40", "fixed", fixed_fen=money("40"), weekdays=[d for d in range(1, 8) if d != weekday]
        ),
        offer(
            "普惠周立减50",
            "fixed",
            fixed_fen=money("50"),
            benefit_weeks=[
                [(today + timedelta(days=7)).isoformat(), (today + timedelta(days=13)).isoformat()]
            ],
        ),
    ]
    assert (stepped["budget_remaining"], capped["budget_remaining"]) == (123456789, 50)

    # what members near the store see now: the two valid offers, with the amounts as typed, in fen
    nearby = c.get("/api/v1/offers", lat=lat, lng=lng)
    ours = {o["id"]: o for o in nearby if o["merchant_id"] == merchant["id"]}
    assert set(ours) == {stepped["id"], capped["id"]}, [o["title"] for o in ours.values()]
    assert ours[stepped["id"]]["steps"] == [[10000, 1000], [20050, 2505]]
    assert ours[capped["id"]]["cap_fen"] == 1234
    assert not {o["id"] for o in not_now} & set(ours)

    # the till login the form made: it serves the store, and the till's quotes use the offers
    till_session = requests.Session()
    login = till_session.post(
        c.url("/api/v1/auth/staff/login"),
        json={"username": till["username"], "password": "till-password-9"},
        headers=PAGE,
        timeout=10,
    )
    assert login.status_code == 200, login.text
    till_session.headers.update({**PAGE, "Authorization": f"Bearer {login.json()['access_token']}"})
    assert [s["id"] for s in till_session.get(c.url("/api/v1/redemptions/stores"), timeout=10).json()] == [
        store["id"]
    ]

    def quote(amount_fen: int) -> tuple[str, int]:
        answer = till_session.get(
            c.url("/api/v1/redemptions/quote"),
            params={"store_id": store["id"], "amount_fen": amount_fen},
            timeout=10,
        ).json()
        return answer["offer_id"], answer["discount_fen"]

    assert quote(20050) == (stepped["id"], 2505)  # 满200.5减25.05 beats half off capped at 12.34
    assert quote(15000) == (capped["id"], 1234)  # 满100减10 does not: the cap does

    # once per day per member: a member's second sale that day gets the next best offer
    place = Place(branch, campaign, {}, merchant, store, stepped, {}, desk="", till=till["username"])
    worker = join(c.journey, place)

    def sale(amount_fen: int) -> requests.Response:
        card = worker.session.get(c.url("/api/v1/members/me/card/token"), timeout=10).json()["token"]
        return till_session.post(
            c.url("/api/v1/redemptions"),
            json={"card_token": card, "store_id": store["id"], "amount_fen": amount_fen},
            headers={"Idempotency-Key": uuid.uuid4().hex},
            timeout=10,
        )

    first = until(lambda: sale(20050), lambda r: r.status_code == 201, "merchants learning of the member")
    second = sale(20050)
    assert (first.json()["offer_id"], first.json()["discount_fen"]) == (stepped["id"], 2505)
    assert second.status_code == 201, second.text
    assert (second.json()["offer_id"], second.json()["discount_fen"]) == (capped["id"], 1234)


def test_bad_input_in_the_forms_comes_back_beside_its_fields_and_makes_nothing(console):
    c = console
    branch = c.branch()
    now = datetime.now(SHANGHAI)
    term = c.create(
        "/api/v1/terms",
        {
            "name": f"表单学期{c.suffix}",
            "branch_id": branch["id"],
            "booking_opens_at": moment(now - timedelta(hours=1)),
            "booking_closes_at": moment(now + timedelta(days=7)),
            "starts_on": (now.date() + timedelta(days=8)).isoformat(),
            "ends_on": (now.date() + timedelta(days=60)).isoformat(),
            "no_show_limit": None,
        },
    )
    course_slots = {
        "term_id",
        "title",
        "venue_id",
        "capacity",
        "seats_per_member",
        "schedule",
        "schedule.weekdays",
    }
    course_slots |= {"schedule.start", "schedule.minutes", "cancel_hours", "min_age", "max_age", "branch_ids"}
    course = {
        "term_id": term["id"],
        "title": "少儿书法",
        "category": "kids",
        "teacher": None,
        "venue_id": None,
        "capacity": number("10"),
        "seats_per_member": number("9"),
        "schedule": {"start": "09:30", "minutes": number("60"), "weekdays": []},
        "cancel_hours": number("24"),
        "min_age": number("12"),
        "max_age": number("6"),
        "women_only": False,
        "branch_ids": None,
        "description": None,
    }
    assert set(c.refused("/api/v1/courses", course, course_slots)) == {
        "seats_per_member",
        "schedule.weekdays",
    }
    course.update(seats_per_member=number("2"), schedule={**course["schedule"], "weekdays": [6]})
    assert set(c.refused("/api/v1/courses", course, course_slots)) == {"max_age"}  # a rule of courses
    assert c.get("/api/v1/courses", term_id=term["id"], status="draft") == []

    merchant = c.create(
        "/api/v1/merchants",
        {
            "name": f"表单商户{c.suffix}",
            "category": "cafe",
            "branch_id": branch["id"],
            "union_share_percent": 0,
        },
    )
    lat, lng = round(random.uniform(40, 42), 5), round(random.uniform(90, 92), 5)
    c.create(
        f"/api/v1/merchants/{merchant['id']}/stores",
        {"name": "表单店", "address": None, "lat": lat, "lng": lng, "opens_at": None, "closes_at": None},
    )
    offer_slots = {"merchant_id", "title", "kind", "steps", "starts_at", "ends_at", "weekdays", "hours_from"}
    offer_slots |= {
        "hours_to",
        "benefit_weeks",
        "member_limit",
        "limit_period",
        "budget_kind",
        "budget_total",
    }
    offer = {
        "merchant_id": merchant["id"],
        "title": "满减",
        "kind": "threshold",
        "steps": steps("100:ten"),  # sent as typed
        "starts_at": moment(now),
        "ends_at": moment(now + timedelta(days=7)),
        "weekdays": [],
        "hours_from": None,
        "hours_to": None,
        "benefit_weeks": [[now.date().isoformat(), ""]],  # a week with no last day
        "member_limit": None,
        "limit_period": None,
        "budget_kind": "money",
        "budget_total": money("12.345"),  # a third decimal: no amount in fen, sent as typed
    }
    assert offer["steps"] == "100:ten" and offer["budget_total"] == "12.345"
    assert set(c.refused("/api/v1/offers", offer, offer_slots)) == {"steps", "benefit_weeks", "budget_total"}
    offer.update(
        steps=steps("100:10"), benefit_weeks=None, budget_total=money("12.34"), member_limit=number("3")
    )
    assert set(c.refused("/api/v1/offers", offer, offer_slots)) == {
        "limit_period"
    }  # a count needs its period
    assert not [o for o in c.get("/api/v1/offers", lat=lat, lng=lng) if o["merchant_id"] == merchant["id"]]

    staff_slots = {"merchant_id", "username", "password", "store_ids"}
    staff = {"username": f"form-bad-{c.suffix}", "password": "short", "store_ids": []}  # no store picked
    path = f"/api/v1/merchants/{merchant['id']}/staff"
    assert set(c.refused(path, staff, staff_slots)) == {"password", "store_ids"}
    login = requests.post(
        c.url("/api/v1/auth/staff/login"),
        json={"username": staff["username"], "password": staff["password"]},
        headers=PAGE,
        timeout=10,
    )
    assert login.status_code == 401, login.text  # no login was made
