"""Journeys across all four services through the gateway, against the running system.

An admin sets up a branch and campaign, a course at a venue, a merchant with a store, an offer and a
till, and a station with a rota. A worker scans the poster (the QR decoded with a real decoder),
joins after identity verification, books the course and is checked in with the ticket QR, redeems
at the till with the card QR, and volunteers at the station: checks in with the station QR, logs a
duty, checks out, and merchants grants the thank-you voucher once. Then the member is suspended
and each service refuses them within a bounded time. Every step is an HTTP call to :8000; members
become known to the other services only through the members topic.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from services.common.clock import SHANGHAI
from tests.e2e.test_enrolment_gateway import sms_code
from tests.support import STAFF_PASSWORD, decode_qr, unique_resident_id, wx_code

PROPAGATION_SECONDS = 30  # a bound for the test; docs/reliability.md will carry the measured figures


def _qr(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "image/png"
    (text,) = decode_qr(response.content)
    return text


def _until(call, done, what: str, seconds: float = PROPAGATION_SECONDS):
    """Call until ``done(answer)``: another service learns of a member through Kafka, not at once."""
    deadline = time.monotonic() + seconds
    while True:
        answer = call()
        if done(answer):
            return answer
        assert time.monotonic() < deadline, f"{what}: still {answer.status_code} {answer.text[:300]}"
        time.sleep(0.2)


class Journey:
    def __init__(self, gateway: str, admin: requests.Session):
        self.gateway = gateway
        self.admin = admin
        self.suffix = uuid.uuid4().hex[:6]

    def url(self, path: str) -> str:
        return f"{self.gateway}{path}"

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


@pytest.fixture
def journey(gateway, admin) -> Journey:
    return Journey(gateway, admin)


def test_a_worker_joins_books_redeems_volunteers_and_a_suspension_reaches_every_service(journey):
    j, admin = journey, journey.admin
    # --- set-up by a union admin -------------------------------------------------------------------
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

    # --- a worker scans the poster and joins ---------------------------------------------------------
    join_url = _qr(admin.get(j.url(f"/api/v1/campaigns/{campaign['id']}/qr.png"), timeout=10))
    assert join_url == campaign["join_url"]
    worker = requests.Session()
    page = worker.get(j.url(f"/api/v1/join/{campaign['code']}"), timeout=10)
    assert page.json()["branch"] == branch["name"]
    login = worker.post(j.url("/api/v1/auth/wechat"), json={"code": wx_code("journey")}, timeout=10)
    worker.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    mobile = f"139{uuid.uuid4().int % 10**8:08d}"
    assert worker.post(j.url("/api/v1/join/sms-code"), json={"mobile": mobile}, timeout=10).status_code == 202
    joined = j.created(
        worker,
        "/api/v1/join",
        {
            "campaign_code": campaign["code"],
            "name": "王五",
            "mobile": mobile,
            "sms_code": sms_code(j.gateway, mobile),
            "id_number": unique_resident_id(),
            "employer": "顺丰速运",
            "occupation": "快递员",
            "consent": True,
        },
        **{"Idempotency-Key": uuid.uuid4().hex},
    )
    member_id = joined["member_id"]
    worker.headers["Authorization"] = f"Bearer {joined['access_token']}"

    # --- courses: book, then the venue desk checks the ticket in -------------------------------------
    booking = _until(
        lambda: worker.post(
            j.url(f"/api/v1/courses/{course['id']}/bookings"),
            json={},
            headers={"Idempotency-Key": "b1"},
            timeout=10,
        ),
        lambda r: r.status_code == 201,
        "courses learning of the new member",
    ).json()
    assert booking["status"] == "confirmed"
    ticket = _qr(worker.get(j.url(f"/api/v1/bookings/{booking['id']}/ticket.png"), timeout=10))
    assert ticket == booking["ticket_code"]
    desk_session = j.staff_session(f"desk-{j.suffix}")
    first = desk_session.post(j.url("/api/v1/checkins"), json={"ticket_code": ticket}, timeout=10)
    again = desk_session.post(j.url("/api/v1/checkins"), json={"ticket_code": ticket}, timeout=10)
    assert first.status_code == 200, first.text
    assert (again.status_code, again.json()["code"]) == (409, "checkin.already")

    # --- merchants: the till scans the card QR ---------------------------------------------------------
    till = j.staff_session(f"till-{j.suffix}")
    card = worker.get(j.url("/api/v1/members/me/card/token"), timeout=10).json()["token"]
    sale = {"card_token": card, "store_id": store["id"], "amount_fen": 15800}
    redeemed = _until(
        lambda: till.post(
            j.url("/api/v1/redemptions"), json=sale, headers={"Idempotency-Key": "sale-1"}, timeout=10
        ),
        lambda r: r.status_code == 201,
        "merchants learning of the new member",
    ).json()
    assert (redeemed["discount_fen"], redeemed["payable_fen"], redeemed["offer_id"]) == (
        1000,
        14800,
        offer["id"],
    )
    replay = till.post(
        j.url("/api/v1/redemptions"), json=sale, headers={"Idempotency-Key": "sale-1"}, timeout=10
    )
    assert replay.json()["id"] == redeemed["id"]  # a retried sale is the same sale
    reused = till.post(
        j.url("/api/v1/redemptions"), json=sale, headers={"Idempotency-Key": "sale-2"}, timeout=10
    )
    assert reused.status_code == 409  # the card code works once

    # --- stations: a duty group with the member, a rota, check-in with the station QR -------------------
    group = j.created(
        admin, f"/api/v1/stations/{station['id']}/duty-groups", {"name": "第一组", "member_ids": [member_id]}
    )
    monday = datetime.now(SHANGHAI).date() - timedelta(days=datetime.now(SHANGHAI).weekday())
    j.created(
        admin,
        f"/api/v1/stations/{station['id']}/rota",
        {"start": monday.isoformat(), "weeks": 1, "group_ids": [group["id"]]},
    )
    station_code = _qr(admin.get(j.url(f"/api/v1/stations/{station['id']}/qr.png"), timeout=10))
    shift = j.created(
        worker, "/api/v1/shifts/checkin", {"station_code": station_code, "lat": 26.5701, "lng": 106.7101}
    )
    status = requests.get(j.url(f"/api/v1/stations/{station['id']}"), timeout=10).json()
    assert status["live"]["status"] == "open"
    j.created(worker, f"/api/v1/shifts/{shift['shift_id']}/log", {"kind": "lights", "value": "on"})
    out = worker.post(j.url(f"/api/v1/shifts/{shift['shift_id']}/checkout"), json={}, timeout=10)
    assert out.status_code in (200, 201), out.text
    vouchers = _until(
        lambda: worker.get(j.url("/api/v1/vouchers/me"), timeout=10),
        lambda r: r.status_code == 200 and r.json()["vouchers"],
        "merchants granting the thank-you voucher for the shift",
    ).json()
    assert len(vouchers["vouchers"]) == 1
    assert vouchers["saved_fen"] == 1000

    # --- suspension reaches every service ----------------------------------------------------------------
    assert admin.post(j.url(f"/api/v1/members/{member_id}/suspend"), json={}, timeout=10).status_code == 200
    suspended = (403, "member.suspended")
    _until(
        lambda: worker.post(
            j.url("/api/v1/bookings/me/children"),
            json={"name": "王小五", "birth_date": "2019-05-01"},
            timeout=10,
        ),
        lambda r: (r.status_code, r.json().get("code")) == suspended,
        "courses refusing the suspended member",
    )
    card = worker.get(j.url("/api/v1/members/me/card/token"), timeout=10)
    if card.status_code == 200:  # enrolment may already refuse the suspended member a card code
        _until(
            lambda: till.post(
                j.url("/api/v1/redemptions"),
                json={**sale, "card_token": card.json()["token"]},
                headers={"Idempotency-Key": uuid.uuid4().hex},
                timeout=10,
            ),
            lambda r: (r.status_code, r.json().get("code")) == suspended,
            "the till refusing the suspended member",
        )
    refused = _until(
        lambda: worker.post(j.url("/api/v1/shifts/checkin"), json={"station_code": station_code}, timeout=10),
        lambda r: r.status_code in (403, 409) and r.json().get("code") != "shift.already_checked_in",
        "stations refusing the suspended volunteer",
    )
    assert refused.status_code == 403, refused.text
