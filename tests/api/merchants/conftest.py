"""Merchants in-process (Flask test client) on a fresh SQLite file, with a stand-in for enrolment
served over real HTTP: the branch tree (GET /api/v1/branches/{id}), the staff API that issues till
logins (POST /api/v1/staff), and the member card's public keys. Card codes are made with
services/common/card_codes.py and a key of the tests' own, as enrolment makes them.

``MerchantsApi`` holds the calls the tests make again and again: a merchant with stores, a till
login, an offer, a member made active by a member event, a voucher, a fresh card code, a redemption.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, jsonify, request
from sqlalchemy import func, select

from schemas.events import members as m
from services.common import card_codes
from tests.support import (
    build_app,
    deliver,
    dispose_app,
    http_server,
    member_event,
    service_settings,
    token_mint,
)

mint = token_mint(scope="session")

ROOT, CITY, BRANCH_A, BRANCH_B = "root", "city", "branch-a", "branch-b"
PATHS = {ROOT: [ROOT], CITY: [ROOT, CITY], BRANCH_A: [ROOT, CITY, BRANCH_A], BRANCH_B: [ROOT, CITY, BRANCH_B]}
GUIYANG = (26.5783, 106.7135)  # a point in Guiyang's centre


@dataclass
class FakeEnrolment:
    base_url: str
    card_key: Ed25519PrivateKey
    staff: dict = field(default_factory=dict)  # username → (staff id, body, Authorization header)
    staff_keys: dict = field(default_factory=dict)  # username → the Idempotency-Key that made it
    down: bool = False

    def card_code(self, member_id: str, *, ttl: int = 60, key: Ed25519PrivateKey | None = None) -> str:
        key = key or self.card_key
        return card_codes.encode(
            kid=card_codes.key_id(key.public_key()),
            expires_at=int(time.time()) + ttl,
            nonce=os.urandom(card_codes.NONCE_BYTES),
            member_id=member_id,
            sign=key.sign,
        )

    def nonce(self, code: str) -> str:
        """The nonce of a code this fake issued, which names the code's used mark (card_codes.used_key)."""
        public = self.card_key.public_key()
        return card_codes.verify(code, {card_codes.key_id(public): public}, now=int(time.time())).nonce


def _fake_enrolment_app(fake_ref: list) -> Flask:
    app = Flask("fake-enrolment")
    lock = threading.Lock()

    def units() -> list[str]:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return jwt.decode(token, options={"verify_signature": False}).get("units", [])

    @app.get("/api/v1/branches/<branch_id>")
    def branch(branch_id):
        path = PATHS.get(branch_id)
        if fake_ref[0].down:
            return "down", 503
        if path is None or not set(units()) & set(path):
            return jsonify(code="not_found"), 404
        return jsonify(id=branch_id, path=path)

    @app.post("/api/v1/staff")
    def staff():
        body, key = request.get_json(), request.headers.get("Idempotency-Key")
        with lock:
            made = fake_ref[0].staff.get(body["username"])
            if made is not None:
                # As enrolment answers the request that made the login, retried with its key.
                if key is not None and fake_ref[0].staff_keys[body["username"]] == key and made[1] == body:
                    return jsonify(id=made[0]), 201
                return jsonify(code="staff.username_taken"), 409
            staff_id = str(uuid.uuid4())
            fake_ref[0].staff[body["username"]] = (staff_id, body, request.headers.get("Authorization"))
            fake_ref[0].staff_keys[body["username"]] = key
        return jsonify(id=staff_id), 201

    @app.get(card_codes.KEYS_PATH)
    def card_keys():
        if fake_ref[0].down:
            return "down", 503
        return jsonify(keys=[card_codes.public_jwk(fake_ref[0].card_key.public_key())])

    return app


@pytest.fixture(scope="session")
def enrolment_fake():
    ref: list = [None]
    with http_server(_fake_enrolment_app(ref), "fake-enrolment") as base:
        ref[0] = FakeEnrolment(base, Ed25519PrivateKey.generate())
        yield ref[0]


@pytest.fixture
def fake(enrolment_fake):
    enrolment_fake.staff.clear()
    enrolment_fake.staff_keys.clear()
    enrolment_fake.down = False
    return enrolment_fake


@pytest.fixture
def make_settings(tmp_path, mint, fake):
    def make(**overrides):
        values = {**mint.settings, "enrolment_url": fake.base_url, **overrides}
        return service_settings("merchants", tmp_path, **values)

    return make


@pytest.fixture
def app(make_settings, clean_redis):
    app = build_app("merchants", make_settings())
    yield app
    dispose_app(app)


@pytest.fixture
def api(app, mint, fake):
    return MerchantsApi(app.test_client(), app, mint, fake)


_keys = itertools.count(1)


def window(days_before: int = 1, days_after: int = 30, **extra) -> dict:
    at = datetime.now(UTC)
    return {
        "starts_at": (at - timedelta(days=days_before)).isoformat(),
        "ends_at": (at + timedelta(days=days_after)).isoformat(),
        **extra,
    }


class MerchantsApi:
    def __init__(self, client, app, mint, fake: FakeEnrolment):
        self.client = client
        self.app = app
        self.mint = mint
        self.fake = fake
        self.admin = mint.admin(CITY)

    # plain calls
    def send(self, method: str, path: str, *, json=None, headers=None, **kw):
        return self.client.open(path, method=method, json=json, headers=headers or {}, **kw)

    def created(self, path: str, body: dict, headers=None) -> dict:
        response = self.send("POST", path, json=body, headers=headers or self.admin)
        assert response.status_code == 201, (
            f"POST {path}: {response.status_code} {response.get_data(as_text=True)}"
        )
        return response.get_json()

    # onboarding
    def merchant(self, branch_id: str = BRANCH_A, **body) -> str:
        body = {"name": "合力超市", "category": "supermarket", "branch_id": branch_id, **body}
        return self.created("/api/v1/merchants", body)["id"]

    def store(self, merchant_id: str, lat: float = GUIYANG[0], lng: float = GUIYANG[1], **body) -> str:
        body = {"name": "合力超市中华路店", "address": "中华北路1号", "lat": lat, "lng": lng, **body}
        return self.created(f"/api/v1/merchants/{merchant_id}/stores", body)["id"]

    def till(self, merchant_id: str, *store_ids: str, username: str | None = None) -> dict:
        """A till login serving ``store_ids``, and its headers (a token as enrolment would issue it)."""
        username = username or f"till-{uuid.uuid4().hex[:8]}"
        body = {"username": username, "password": "till-password-1", "store_ids": list(store_ids)}
        staff = self.created(f"/api/v1/merchants/{merchant_id}/staff", body)
        return self.mint.staff(staff["id"], "till")

    def offer(self, merchant_id: str, kind: str = "percent", **body) -> str:
        defaults = {
            "percent": {"percent_off": 10},
            "threshold": {"steps": [[10000, 1000]]},
            "fixed": {"fixed_fen": 500},
        }
        body = {
            "merchant_id": merchant_id,
            "title": "会员九折",
            "kind": kind,
            **defaults[kind],
            **window(),
            **body,
        }
        return self.created("/api/v1/offers", body)["id"]

    def member(self, status_events=()) -> str:
        member_id = str(uuid.uuid4())
        deliver(
            self.app, member_event(m.JOINED, member_id), *(member_event(t, member_id) for t in status_events)
        )
        return member_id

    def voucher(self, member_id: str, value_fen: int = 1000, *, days: int = 7) -> str:
        """A voucher an admin of the federation grants (member events place members under "root")."""
        body = {
            "member_id": member_id,
            "value_fen": value_fen,
            "reason": "普惠周",
            "expires_at": (datetime.now(UTC) + timedelta(days=days)).isoformat(),
        }
        headers = {**self.mint.admin(ROOT), "Idempotency-Key": f"v-{next(_keys)}"}
        return self.created("/api/v1/vouchers", body, headers)["id"]

    def shop(self, merchant_kind: str = "percent", **offer) -> Shop:
        merchant_id = self.merchant()
        store_id = self.store(merchant_id)
        offer_id = self.offer(merchant_id, merchant_kind, **offer)
        return Shop(merchant_id, store_id, offer_id, self.till(merchant_id, store_id))

    # the till
    def redeem(self, till: dict, body: dict, key: str | None = None):
        headers = {**till, "Idempotency-Key": key or f"k-{next(_keys)}"}
        return self.send("POST", "/api/v1/redemptions", json=body, headers=headers)

    def redeem_ok(self, shop: Shop, member_id: str, amount_fen: int, **extra) -> dict:
        body = {
            "card_token": self.fake.card_code(member_id),
            "store_id": shop.store_id,
            "amount_fen": amount_fen,
            **extra,
        }
        response = self.redeem(shop.till, body)
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()

    def reverse(self, till: dict, redemption_id: str, amount_fen: int | None = None, key: str | None = None):
        body = {} if amount_fen is None else {"amount_fen": amount_fen}
        headers = {**till, "Idempotency-Key": key or f"r-{next(_keys)}"}
        return self.send("POST", f"/api/v1/redemptions/{redemption_id}/reversal", json=body, headers=headers)

    # reads of merchants' tables
    def engine(self):
        return self.app.extensions["unionhub"].db.engine

    def count(self, table, *where) -> int:
        with self.engine().connect() as conn:
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

    def row(self, table, row_id: str):
        with self.engine().connect() as conn:
            return conn.execute(select(table).where(table.c.id == row_id)).first()

    def outbox_types(self) -> list[str]:
        from services.merchants import tables

        with self.engine().connect() as conn:
            return [r.type for r in conn.execute(select(tables.outbox.c.type).order_by(tables.outbox.c.seq))]

    def events(self, event_type: str) -> list[dict]:
        """The payloads of the outbox's events of one type, oldest first, as consumers will read them."""
        from services.merchants import tables

        o = tables.outbox
        with self.engine().connect() as conn:
            rows = conn.execute(select(o.c.payload).where(o.c.type == event_type).order_by(o.c.seq))
            return [json.loads(r.payload) for r in rows]


@dataclass
class Shop:
    merchant_id: str
    store_id: str
    offer_id: str
    till: dict
