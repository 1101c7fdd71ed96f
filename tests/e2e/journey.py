"""The steps of a worker's journey across the four services, through the gateway, for the e2e tests
that walk it (test_journeys.py, test_events_on_the_wire.py, test_propagation.py).

Every step is an HTTP call to the gateway; members become known to the other services only through
the members topic, so a step that needs another service to know of a change waits for it (``until``).
Each causing request carries a W3C ``traceparent`` of its own, whose trace id ``Journey.traces``
keeps under the step's name, so the events it causes can be traced back to it.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests

from services.common.clock import SHANGHAI
from tests.e2e.test_enrolment_gateway import sms_code
from tests.support import STAFF_PASSWORD, decode_qr, unique_resident_id, wx_code

PROPAGATION_SECONDS = 30  # a bound for the tests; docs/reliability.md has the measured figures
SUSPENDED = (403, "member.suspended")


def qr(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/png"
    (text,) = decode_qr(response.content)
    return text


def until(call, done, what: str, seconds: float = PROPAGATION_SECONDS, pause: float = 0.2):
    """Call until ``done(answer)``: another service learns of a member through Kafka, not at once."""
    deadline = time.monotonic() + seconds
    while True:
        answer = call()
        if done(answer):
            return answer
        assert time.monotonic() < deadline, f"{what}: still {answer.status_code} {answer.text[:300]}"
        time.sleep(pause)


def code_of(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


class Journey:
    def __init__(self, gateway: str, admin: requests.Session):
        self.gateway = gateway
        self.admin = admin
        self.suffix = uuid.uuid4().hex[:6]
        self.traces: dict[str, str] = {}  # step → the trace id its request carried

    def url(self, path: str) -> str:
        return f"{self.gateway}{path}"

    def traced(self, step: str) -> dict:
        """A traceparent header starting a trace of its own for ``step`` (retries of the step share it)."""
        trace_id = self.traces.setdefault(step, os.urandom(16).hex())
        return {"traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01"}

    def created(self, session: requests.Session, path: str, body: dict, **headers) -> dict:
        reply = session.post(self.url(path), json=body, headers=headers, timeout=10)
        assert reply.status_code == 201, f"{path}: {reply.status_code} {reply.text}"
        return reply.json()

    def staff_session(self, username: str) -> requests.Session:
        session = requests.Session()
        login = session.post(
            self.url("/api/v1/auth/staff/login"),
            json={"username": username, "password": STAFF_PASSWORD},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        return session


@dataclass
class Place:
    """What a union admin set up: a branch and its campaign, a course at a venue with its check-in
    desk, a merchant with a store, an offer and a till, and a station."""

    branch: dict
    campaign: dict
    course: dict
    merchant: dict
    store: dict
    offer: dict
    station: dict
    desk: str  # the venue desk's username
    till: str  # the till's username


@dataclass
class Worker:
    session: requests.Session  # carries the member's token
    member_id: str


def set_up(j: Journey) -> Place:
    admin = j.admin
    root = next(u for u in admin.get(j.url("/api/v1/branches"), timeout=10).json() if not u["parent_id"])
    branch = j.created(
        admin, "/api/v1/branches", {"name": f"旅程测试分会{j.suffix}", "parent_id": root["id"]}
    )
    campaign = j.created(admin, "/api/v1/campaigns", {"branch_id": branch["id"], "name": "旅程扫码入会"})

    venue = j.created(admin, "/api/v1/venues", {"name": f"旅程场馆{j.suffix}", "branch_id": branch["id"]})
    desk = j.created(
        admin,
        "/api/v1/staff",
        {
            "username": f"desk-{j.suffix}",
            "password": STAFF_PASSWORD,
            "roles": ["venue"],
            "unit_id": branch["id"],
        },
    )
    j.created(admin, f"/api/v1/venues/{venue['id']}/staff", {"staff_id": desk["id"]})
    local_now = datetime.now(SHANGHAI)
    start = max(local_now - timedelta(minutes=10), local_now.replace(hour=0, minute=0))
    term = j.created(
        admin,
        "/api/v1/terms",
        {
            "name": f"旅程学期{j.suffix}",
            "branch_id": branch["id"],
            "booking_opens_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "booking_closes_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            "starts_on": local_now.date().isoformat(),
            "ends_on": (local_now.date() + timedelta(days=6)).isoformat(),
        },
    )
    course = j.created(
        admin,
        "/api/v1/courses",
        {
            "term_id": term["id"],
            "title": "茶艺",
            "category": "tea_art",
            "venue_id": venue["id"],
            "capacity": 10,
            "cancel_hours": 0,
            "schedule": {"weekdays": list(range(1, 8)), "start": start.strftime("%H:%M"), "minutes": 120},
        },
    )
    assert admin.post(j.url(f"/api/v1/courses/{course['id']}/publish"), timeout=10).status_code == 204

    merchant = j.created(
        admin,
        "/api/v1/merchants",
        {"name": f"华联超市{j.suffix}", "category": "supermarket", "branch_id": branch["id"]},
    )
    store = j.created(
        admin, f"/api/v1/merchants/{merchant['id']}/stores", {"name": "碧江店", "lat": 27.718, "lng": 109.191}
    )
    j.created(
        admin,
        f"/api/v1/merchants/{merchant['id']}/staff",
        {"username": f"till-{j.suffix}", "password": STAFF_PASSWORD, "store_ids": [store["id"]]},
    )
    offer = j.created(
        admin,
        "/api/v1/offers",
        {
            "merchant_id": merchant["id"],
            "title": "满100减10",
            "kind": "threshold",
            "steps": [[10000, 1000], [20000, 2500]],
            "starts_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "ends_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        },
    )
    station = j.created(
        admin,
        "/api/v1/stations",
        {
            "name": f"夷新驿站{j.suffix}",
            "address": "贵阳市南明区",
            "lat": 26.57,
            "lng": 106.71,
            "branch_id": branch["id"],
            "amenities": ["water", "charging", "first_aid"],
            "opening_hours": "24/7",
            "lockers": 4,
        },
    )
    return Place(
        branch, campaign, course, merchant, store, offer, station, f"desk-{j.suffix}", f"till-{j.suffix}"
    )


def join(j: Journey, place: Place, *, scan: bool = True, login_code: str | None = None) -> Worker:
    """A worker scans the poster (the QR read by a real decoder), logs in with WeChat and joins after
    identity verification. ``login_code`` is the wx.login code to log in with (a browser test's phone
    logs in with its device code); by default one no one has used."""
    if scan:
        join_url = qr(j.admin.get(j.url(f"/api/v1/campaigns/{place.campaign['id']}/qr.png"), timeout=10))
        assert join_url == place.campaign["join_url"]
    session = requests.Session()
    page = session.get(j.url(f"/api/v1/join/{place.campaign['code']}"), timeout=10)
    assert page.json()["branch"] == place.branch["name"]
    login = session.post(
        j.url("/api/v1/auth/wechat"), json={"code": login_code or wx_code("journey")}, timeout=10
    )
    assert login.status_code == 200, login.text
    session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    mobile = f"139{uuid.uuid4().int % 10**8:08d}"
    assert (
        session.post(j.url("/api/v1/join/sms-code"), json={"mobile": mobile}, timeout=10).status_code == 202
    )
    joined = j.created(
        session,
        "/api/v1/join",
        {
            "campaign_code": place.campaign["code"],
            "name": "王五",
            "mobile": mobile,
            "sms_code": sms_code(j.gateway, mobile),
            "id_number": unique_resident_id(),
            "employer": "顺丰速运",
            "occupation": "快递员",
            "consent": True,
        },
        **{"Idempotency-Key": uuid.uuid4().hex, **j.traced("join")},
    )
    session.headers["Authorization"] = f"Bearer {joined['access_token']}"
    return Worker(session, joined["member_id"])


def book(j: Journey, place: Place, worker: Worker) -> dict:
    """A confirmed seat, once courses has learned of the member."""
    booking = until(
        lambda: worker.session.post(
            j.url(f"/api/v1/courses/{place.course['id']}/bookings"),
            json={},
            headers={"Idempotency-Key": "b1", **j.traced("book")},
            timeout=10,
        ),
        lambda r: r.status_code == 201,
        "courses learning of the new member",
    ).json()
    assert booking["status"] == "confirmed"
    return booking


def check_in(j: Journey, place: Place, worker: Worker, booking: dict) -> None:
    """The venue desk scans the ticket QR; a second scan is refused."""
    ticket = qr(worker.session.get(j.url(f"/api/v1/bookings/{booking['id']}/ticket.png"), timeout=10))
    assert ticket == booking["ticket_code"]
    desk = j.staff_session(place.desk)
    first = desk.post(
        j.url("/api/v1/checkins"), json={"ticket_code": ticket}, headers=j.traced("check_in"), timeout=10
    )
    again = desk.post(j.url("/api/v1/checkins"), json={"ticket_code": ticket}, timeout=10)
    assert first.status_code == 200, first.text
    assert (again.status_code, code_of(again)) == (409, "checkin.already")


@dataclass
class Sale:
    till: requests.Session
    body: dict
    answer: dict


def redeem(j: Journey, place: Place, worker: Worker) -> Sale:
    """The till scans the card QR; a retried sale is the same sale, and the card code works once."""
    till = j.staff_session(place.till)
    card = worker.session.get(j.url("/api/v1/members/me/card/token"), timeout=10).json()["token"]
    sale = {"card_token": card, "store_id": place.store["id"], "amount_fen": 15800}
    redeemed = until(
        lambda: till.post(
            j.url("/api/v1/redemptions"),
            json=sale,
            headers={"Idempotency-Key": "sale-1", **j.traced("redeem")},
            timeout=10,
        ),
        lambda r: r.status_code == 201,
        "merchants learning of the new member",
    ).json()
    assert (redeemed["discount_fen"], redeemed["payable_fen"], redeemed["offer_id"]) == (
        1000,
        14800,
        place.offer["id"],
    )
    replay = till.post(
        j.url("/api/v1/redemptions"), json=sale, headers={"Idempotency-Key": "sale-1"}, timeout=10
    )
    assert replay.json()["id"] == redeemed["id"]
    reused = till.post(
        j.url("/api/v1/redemptions"), json=sale, headers={"Idempotency-Key": "sale-2"}, timeout=10
    )
    assert reused.status_code == 409
    return Sale(till, sale, redeemed)


def volunteer(j: Journey, place: Place, worker: Worker) -> str:
    """A duty group with the member and a rota; the volunteer checks in with the station QR (the
    station opens), logs a duty, checks out, and merchants grants the thank-you voucher once.
    Answers the station code."""
    admin, station = j.admin, place.station
    group = j.created(
        admin,
        f"/api/v1/stations/{station['id']}/duty-groups",
        {"name": "第一组", "member_ids": [worker.member_id]},
    )
    monday = datetime.now(SHANGHAI).date() - timedelta(days=datetime.now(SHANGHAI).weekday())
    j.created(
        admin,
        f"/api/v1/stations/{station['id']}/rota",
        {"start": monday.isoformat(), "weeks": 1, "group_ids": [group["id"]]},
    )
    station_code = qr(admin.get(j.url(f"/api/v1/stations/{station['id']}/qr.png"), timeout=10))
    shift = j.created(
        worker.session,
        "/api/v1/shifts/checkin",
        {"station_code": station_code, "lat": 26.5701, "lng": 106.7101},
        **j.traced("shift_checkin"),
    )
    status = requests.get(j.url(f"/api/v1/stations/{station['id']}"), timeout=10).json()
    assert status["live"]["status"] == "open"
    j.created(worker.session, f"/api/v1/shifts/{shift['shift_id']}/log", {"kind": "lights", "value": "on"})
    out = worker.session.post(
        j.url(f"/api/v1/shifts/{shift['shift_id']}/checkout"),
        json={},
        headers=j.traced("checkout"),
        timeout=10,
    )
    assert out.status_code in (200, 201), out.text
    vouchers = until(
        lambda: worker.session.get(j.url("/api/v1/vouchers/me"), timeout=10),
        lambda r: r.status_code == 200 and r.json()["vouchers"],
        "merchants granting the thank-you voucher for the shift",
    ).json()
    assert len(vouchers["vouchers"]) == 1
    assert vouchers["saved_fen"] == 1000
    return station_code


def suspend(j: Journey, member_id: str) -> requests.Response:
    answer = j.admin.post(
        j.url(f"/api/v1/members/{member_id}/suspend"), json={}, headers=j.traced("suspend"), timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer


def every_service_refuses(j: Journey, worker: Worker, sale: Sale, station_code: str) -> None:
    """After a suspension: courses, the till and the rota refuse the member, within a bound."""
    until(
        lambda: worker.session.post(
            j.url("/api/v1/bookings/me/children"),
            json={"name": "王小五", "birth_date": "2019-05-01"},
            timeout=10,
        ),
        lambda r: (r.status_code, code_of(r)) == SUSPENDED,
        "courses refusing the suspended member",
    )
    card = worker.session.get(j.url("/api/v1/members/me/card/token"), timeout=10)
    if card.status_code == 200:  # enrolment may already refuse the suspended member a card code
        until(
            lambda: sale.till.post(
                j.url("/api/v1/redemptions"),
                json={**sale.body, "card_token": card.json()["token"]},
                headers={"Idempotency-Key": uuid.uuid4().hex},
                timeout=10,
            ),
            lambda r: (r.status_code, code_of(r)) == SUSPENDED,
            "the till refusing the suspended member",
        )
    refused = until(
        lambda: worker.session.post(
            j.url("/api/v1/shifts/checkin"), json={"station_code": station_code}, timeout=10
        ),
        lambda r: r.status_code in (403, 409) and code_of(r) != "shift.already_checked_in",
        "stations refusing the suspended volunteer",
    )
    assert refused.status_code == 403, refused.text
