"""The web pages through the gateway, against the running system: every page and every file it
loads, then the API calls each page's JS makes, in the order a person's taps make them.

No browser runs here (tests/browser runs the pages' JS in Chromium); the flows below are the
requests join.js, till.js, duty.js and admin.js send, with the headers they send, and what their
answers must say: personal ones are cached nowhere.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from services.common.clock import SHANGHAI
from tests.e2e.test_enrolment_gateway import sms_code
from tests.support import START_SYSTEM, decode_qr, infra_missing, unique_resident_id

PROPAGATION_SECONDS = 30  # merchants and stations learn of a new member through Kafka


def _qr(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    (text,) = decode_qr(response.content)
    return text


def _until(call, done, what: str, seconds: float = PROPAGATION_SECONDS):
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

    def created(self, session: requests.Session, path: str, body: dict) -> dict:
        reply = session.post(self.url(path), json=body, timeout=10)
        assert reply.status_code == 201, f"{path}: {reply.status_code} {reply.text}"
        return reply.json()


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PAGES = ("/app/", "/app/till", "/app/duty", "/app/admin")
ASSET_TYPES = ("text/javascript", "text/css", "image/png")  # scripts, the stylesheet, the pages' icon


def page_json(session: requests.Session, lang: str = "zh-CN") -> dict:
    """The headers app.js's api() sends."""
    return {"Accept": "application/json", "Accept-Language": lang}


@pytest.fixture
def journey(gateway, admin) -> Journey:
    pages = requests.get(f"{gateway}/app/", timeout=10)
    if pages.status_code != 200 or "text/html" not in pages.headers.get("Content-Type", ""):
        infra_missing(
            f"the gateway does not route /app/ to the web service (HTTP {pages.status_code})",
            hint=START_SYSTEM,
        )
    return Journey(gateway, admin)


def fetch_page_and_assets(gateway: str, path: str, lang: str = "zh-CN") -> str:
    page = requests.get(f"{gateway}{path}", params={"lang": lang}, timeout=10)
    assert page.status_code == 200, (path, page.status_code)
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert f'<html lang="{lang}">' in page.text
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]
    todo = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.text)
    seen = set()
    while todo:
        asset = todo.pop()
        if asset in seen:
            continue
        seen.add(asset)
        assert asset.startswith("/app/"), asset
        served = requests.get(f"{gateway}{asset}", timeout=10)
        assert served.status_code == 200, asset
        assert served.headers["Content-Type"].split(";")[0] in ASSET_TYPES, asset
        if asset.startswith("/app/static/") and asset.endswith(".js"):
            todo += re.findall(r'from\s+"([^"]+)"', served.text)
    return page.text


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_each_page_and_every_file_it_loads_come_through_the_gateway(journey, path, lang):
    fetch_page_and_assets(journey.gateway, path, lang)


def _setup(j: Journey) -> dict:
    admin = j.admin
    root = next(u for u in admin.get(j.url("/api/v1/branches"), timeout=10).json() if not u["parent_id"])
    branch = j.created(
        admin, "/api/v1/branches", {"name": f"页面测试分会{j.suffix}", "parent_id": root["id"]}
    )
    campaign = j.created(admin, "/api/v1/campaigns", {"branch_id": branch["id"], "name": "页面扫码入会"})
    merchant = j.created(
        admin,
        "/api/v1/merchants",
        {"name": f"页面超市{j.suffix}", "category": "supermarket", "branch_id": branch["id"]},
    )
    store = j.created(
        admin, f"/api/v1/merchants/{merchant['id']}/stores", {"name": "南明店", "lat": 26.57, "lng": 106.71}
    )
    j.created(
        admin,
        f"/api/v1/merchants/{merchant['id']}/staff",
        {"username": f"page-till-{j.suffix}", "password": "staff-password-1", "store_ids": [store["id"]]},
    )
    offer = j.created(
        admin,
        "/api/v1/offers",
        {
            "merchant_id": merchant["id"],
            "title": "满100减10",
            "kind": "threshold",
            "steps": [[10000, 1000]],
            "starts_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "ends_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        },
    )
    station = j.created(
        admin,
        "/api/v1/stations",
        {
            "name": f"页面驿站{j.suffix}",
            "address": "贵阳市南明区",
            "lat": 26.57,
            "lng": 106.71,
            "branch_id": branch["id"],
            "amenities": ["water"],
            "opening_hours": "24/7",
            "lockers": 2,
        },
    )
    return {
        "branch": branch,
        "campaign": campaign,
        "merchant": merchant,
        "store": store,
        "offer": offer,
        "station": station,
    }


def test_a_worker_joins_in_a_browser_a_till_sells_once_a_volunteer_does_a_shift_and_the_admin_sees_charts(
    journey,
):
    j = journey
    made = _setup(j)
    code = made["campaign"]["code"]

    # --- H5: the poster's URL in a phone browser opens the join page ---------------------------------
    join_url = _qr(j.admin.get(j.url(f"/api/v1/campaigns/{made['campaign']['id']}/qr.png"), timeout=10))
    browser = requests.Session()
    path = "/" + join_url.split("/", 3)[3]  # the poster names the public origin; the path is ours
    opened = browser.get(j.url(path), headers={"Accept": BROWSER}, timeout=10, allow_redirects=False)
    assert opened.status_code == 303 and opened.headers["Location"] == f"/app/join/{code}"
    html = fetch_page_and_assets(j.gateway, opened.headers["Location"])
    assert f'data-code="{code}"' in html and 'data-device-login="true"' in html

    # join.js: the campaign, the device login, the SMS code, a bad form, then the join
    facts = browser.get(j.url(f"/api/v1/join/{code}"), headers=page_json(browser), timeout=10).json()
    assert facts["branch"] == made["branch"]["name"]
    device = f"h5-{uuid.uuid4()}"
    login = browser.post(
        j.url("/api/v1/auth/wechat"), json={"code": device}, headers=page_json(browser), timeout=10
    )
    assert login.status_code == 200 and login.json()["member_id"] is None
    assert login.headers["Cache-Control"] == "no-store"  # a token: no cache keeps it
    member = {**page_json(browser, "en"), "Authorization": f"Bearer {login.json()['access_token']}"}
    mobile = f"137{uuid.uuid4().int % 10**8:08d}"
    sent = browser.post(j.url("/api/v1/join/sms-code"), json={"mobile": mobile}, headers=member, timeout=10)
    assert sent.status_code == 202, sent.text
    form = {
        "campaign_code": code,
        "name": "赵六",
        "mobile": mobile,
        "sms_code": sms_code(j.gateway, mobile),
        "id_number": "52010219900307001X",  # a wrong check digit
        "employer": "美团",
        "occupation": "骑手",
        "consent": True,
    }
    bad = browser.post(
        j.url("/api/v1/join"), json=form, headers={**member, "Idempotency-Key": uuid.uuid4().hex}, timeout=10
    )
    assert bad.status_code == 422
    fields = {e["field"]: e["message"] for e in bad.json()["errors"]}
    assert "id_number" in fields and re.search(r"[A-Za-z]", fields["id_number"])  # English, beside its field
    form["id_number"] = unique_resident_id()
    key = uuid.uuid4().hex
    joined = browser.post(
        j.url("/api/v1/join"), json=form, headers={**member, "Idempotency-Key": key}, timeout=10
    )
    assert joined.status_code == 201, joined.text
    again = browser.post(
        j.url("/api/v1/join"), json=form, headers={**member, "Idempotency-Key": key}, timeout=10
    )
    assert again.json()["member_id"] == joined.json()["member_id"]  # a double tap joins once
    member["Authorization"] = f"Bearer {joined.json()['access_token']}"
    relogin = browser.post(j.url("/api/v1/auth/wechat"), json={"code": device}, timeout=10).json()
    assert relogin["member_id"] == joined.json()["member_id"]  # the same phone opens the card next time
    me_answer = browser.get(j.url("/api/v1/members/me"), headers=member, timeout=10)
    assert me_answer.headers["Cache-Control"] == "no-store"
    me = me_answer.json()
    assert me["card_no"] == joined.json()["card_no"]
    first = browser.get(j.url("/api/v1/members/me/card/token"), headers=member, timeout=10).json()
    assert 10 < first["expires_in"] <= 120  # join.js renews 10 s before expiry

    # --- till: log in, pick the store, quote, confirm twice with one key, list, reverse ---------------
    till_html = fetch_page_and_assets(j.gateway, "/app/till")
    assert 'id="sale-form"' in till_html
    till = requests.Session()
    staff_login = till.post(
        j.url("/api/v1/auth/staff/login"),
        json={"username": f"page-till-{j.suffix}", "password": "staff-password-1"},
        headers=page_json(till),
        timeout=10,
    )
    assert staff_login.headers["Cache-Control"] == "no-store"
    token = staff_login.json()["access_token"]
    till.headers.update({**page_json(till), "Authorization": f"Bearer {token}"})
    stores = till.get(j.url("/api/v1/redemptions/stores"), timeout=10).json()
    assert [s["id"] for s in stores] == [made["store"]["id"]]
    store_id = made["store"]["id"]
    # The quote takes the card (it spends nothing) and says what confirming would: the offer, and
    # the member's vouchers to apply (none yet); the sale then sends the same body with its key.
    card = browser.get(j.url("/api/v1/members/me/card/token"), headers=member, timeout=10).json()["token"]
    sale = {"card_token": card, "store_id": store_id, "amount_fen": 15800, "voucher_id": None}
    quote = _until(
        lambda: till.post(j.url("/api/v1/redemptions/quote"), json=sale, timeout=10),
        lambda r: r.status_code == 200,
        "merchants learning of the new member",
    )
    assert quote.headers["Cache-Control"] == "no-store"
    assert {k: v for k, v in quote.json().items() if k != "card_no"} == {
        "offer_id": made["offer"]["id"],
        "offer_title": "满100减10",
        "amount_fen": 15800,
        "discount_fen": 1000,
        "voucher_id": None,
        "voucher_fen": 0,
        "payable_fen": 14800,
        "vouchers": [],
    }
    sale_key = str(uuid.uuid4())
    confirmed = till.post(
        j.url("/api/v1/redemptions"), json=sale, headers={"Idempotency-Key": sale_key}, timeout=10
    )
    assert confirmed.status_code == 201, confirmed.text
    done = confirmed.json()
    double = till.post(
        j.url("/api/v1/redemptions"), json=sale, headers={"Idempotency-Key": sale_key}, timeout=10
    )
    assert double.status_code == 201 and double.json()["id"] == done["id"]
    today = till.get(j.url("/api/v1/redemptions"), params={"store_id": store_id}, timeout=10).json()
    assert [r["id"] for r in today] == [done["id"]]  # the double tap made one redemption
    reversed_ = till.post(
        j.url(f"/api/v1/redemptions/{done['id']}/reversal"),
        json={},
        headers={"Idempotency-Key": f"reverse-{done['id']}"},
        timeout=10,
    )
    assert reversed_.status_code == 201, reversed_.text
    assert (
        till.get(j.url("/api/v1/redemptions"), params={"store_id": store_id}, timeout=10).json()[0][
            "reversed_fen"
        ]
        == 15800
    )

    # --- duty: scan the station QR, check in with a location, log, lockers, check out -----------------
    fetch_page_and_assets(j.gateway, "/app/duty")
    station_id = made["station"]["id"]
    group = j.created(
        j.admin, f"/api/v1/stations/{station_id}/duty-groups", {"name": "页面组", "member_ids": [me["id"]]}
    )
    monday = datetime.now(SHANGHAI).date() - timedelta(days=datetime.now(SHANGHAI).weekday())
    j.created(
        j.admin,
        f"/api/v1/stations/{station_id}/rota",
        {"start": monday.isoformat(), "weeks": 1, "group_ids": [group["id"]]},
    )
    station_code = _qr(j.admin.get(j.url(f"/api/v1/stations/{station_id}/qr.png"), timeout=10))
    assert browser.get(j.url("/api/v1/shifts/me"), headers=member, timeout=10).status_code == 404
    shift = browser.post(
        j.url("/api/v1/shifts/checkin"),
        json={"station_code": station_code, "lat": 26.5701, "lng": 106.7101},
        headers=member,
        timeout=10,
    )
    assert shift.status_code == 201, shift.text
    mine = browser.get(j.url("/api/v1/shifts/me"), headers=member, timeout=10).json()
    assert (mine["station_id"], mine["station_name"]) == (station_id, f"页面驿站{j.suffix}")
    logged = browser.post(
        j.url(f"/api/v1/shifts/{mine['shift_id']}/log"),
        json={"kind": "ac", "value": "on"},
        headers=member,
        timeout=10,
    )
    assert logged.status_code == 201
    deposit = browser.post(
        j.url(f"/api/v1/stations/{station_id}/lockers/deposits"),
        json={"locker_no": None},
        headers={**member, "Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )
    assert deposit.status_code == 201, deposit.text
    pickup = browser.post(
        j.url(f"/api/v1/stations/{station_id}/lockers/pickups"),
        json={"pickup_code": deposit.json()["pickup_code"]},
        headers=member,
        timeout=10,
    )
    assert pickup.status_code == 200 and pickup.json()["locker_no"] == deposit.json()["locker_no"]
    out = browser.post(
        j.url(f"/api/v1/shifts/{mine['shift_id']}/checkout"), json={}, headers=member, timeout=10
    )
    assert out.status_code == 200, out.text

    # --- admin console: the lists and the charts' data ---------------------------------------------
    fetch_page_and_assets(j.gateway, "/app/admin")
    stats = j.admin.get(j.url(f"/api/v1/campaigns/{made['campaign']['id']}/stats"), timeout=10).json()
    # scans are bounded per source address, and every test here calls from 127.0.0.1
    assert stats["by_day"] and stats["unique_scans"] >= 1 and stats["joins"] == 1  # the funnel has data
    daily = j.admin.get(j.url("/api/v1/merchants/daily"), params={"days": 7}, timeout=10).json()
    assert any(r["merchant_id"] == made["merchant"]["id"] and r["redemptions"] == 1 for r in daily)
    managed = j.admin.get(j.url("/api/v1/stations/managed"), timeout=10).json()
    assert station_id in {s["id"] for s in managed}
    coverage = j.admin.get(j.url(f"/api/v1/stations/{station_id}/stats"), timeout=10)
    assert coverage.status_code == 200 and coverage.json()["days"]
    assert j.admin.get(j.url("/api/v1/terms/managed"), timeout=10).status_code == 200

    # --- admin console forms: a term, a course with its weekly schedule, publishing it (admin.js) -----
    today = datetime.now(SHANGHAI).date()
    term = j.created(
        j.admin,
        "/api/v1/terms",
        {
            "name": f"页面学期{j.suffix}",
            "branch_id": made["branch"]["id"],
            "booking_opens_at": (datetime.now(SHANGHAI) - timedelta(hours=1)).strftime(
                "%Y-%m-%dT%H:%M:00+08:00"
            ),
            "booking_closes_at": (datetime.now(SHANGHAI) + timedelta(days=7)).strftime(
                "%Y-%m-%dT%H:%M:00+08:00"
            ),
            "starts_on": (today + timedelta(days=8)).isoformat(),
            "ends_on": (today + timedelta(days=60)).isoformat(),
            "no_show_limit": None,
        },
    )
    course = j.created(
        j.admin,
        "/api/v1/courses",
        {
            "term_id": term["id"],
            "title": "页面瑜伽",
            "category": "yoga",
            "teacher": None,
            "capacity": 20,
            "schedule": {"weekdays": [2, 4], "start": "19:00", "minutes": 90},
            "cancel_hours": 24,
            "description": None,
        },
    )
    assert course["sessions"] > 0
    published = j.admin.post(j.url(f"/api/v1/courses/{course['id']}/publish"), timeout=10)
    assert published.status_code == 204, published.text
    listed = j.admin.get(j.url("/api/v1/courses"), params={"term_id": term["id"]}, timeout=10).json()
    assert [c["id"] for c in listed] == [course["id"]]
