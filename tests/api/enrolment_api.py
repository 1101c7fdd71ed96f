"""Helpers for the enrolment API tests: log in, build a unit tree, create campaigns, join with a
valid generated resident ID, and read the tables and the outbox directly.

Imported by tests/api (fixtures in its conftest) and by the Kafka integration test.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from schemas.resident_id import compute_check_char
from services.enrolment import db as edb
from services.fakes import wechat as fake_wechat

ADMIN_PASSWORD = "test-admin-password"
STAFF_PASSWORD = "staff-password-1"
PROBLEM = "application/problem+json"
REQUIRE_INFRA = os.environ.get("UNIONHUB_REQUIRE_INFRA", "") not in ("", "0")


def infra_missing(reason: str):
    """Skip, or fail when UNIONHUB_REQUIRE_INFRA is set: CI must not go green by skipping."""
    if REQUIRE_INFRA:
        pytest.fail(f"UNIONHUB_REQUIRE_INFRA is set and {reason}", pytrace=False)
    pytest.skip(f"{reason}; start it with `bash deploy/local/infra.sh up`")


_serials = itertools.count(1)


def resident_id(*, born: date = date(1990, 3, 7), female: bool = False, region: str = "520102") -> str:
    """A valid 18-character resident ID number (GB 11643 check character), different on every call."""
    n = next(_serials)
    born = born + timedelta(days=n // 500)  # 500 sequence numbers per birth date, then the next day
    sex_digit = 2 * (n % 5) + (0 if female else 1)  # odd for men, even for women
    first17 = f"{region}{born:%Y%m%d}{(n % 500) // 5:02d}{sex_digit}"
    return first17 + compute_check_char(first17)


_codes = itertools.count(1)


def wx_code(prefix: str = "code") -> str:
    return f"{prefix}-{os.getpid()}-{next(_codes)}"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def join_body(campaign_code: str, **overrides) -> dict:
    body = {
        "campaign_code": campaign_code,
        "name": "张三",
        "mobile": "13812345678",
        "id_number": resident_id(),
        "employer": "顺丰速运",
        "occupation": "快递员",
        "consent": True,
    }
    body.update(overrides)
    return body


@dataclass
class Worker:
    token: str
    openid: str
    member_id: str | None = None
    card_no: str | None = None
    status: str | None = None
    body: dict = field(default_factory=dict)

    @property
    def headers(self) -> dict:
        return bearer(self.token)


class Api:
    """The calls tests make again and again, against the Flask test client."""

    def __init__(self, client, app):
        self.client = client
        self.app = app
        self._codes: list[str] = []

    # logging in
    def login(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
        response = self.client.post(
            "/api/v1/auth/staff/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()["access_token"]

    def admin(self) -> dict:
        return bearer(self.login())

    def wechat(self, code: str | None = None) -> Worker:
        code = code or wx_code()
        self._codes.append(code)
        response = self.client.post("/api/v1/auth/wechat", json={"code": code})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        return Worker(body["access_token"], fake_wechat.openid_for(code), member_id=body["member_id"])

    def wechat_relogin(self, worker: Worker) -> str | None:
        """Log the same WeChat user in again (the fake maps a code to its openid); the member_id."""
        code = next(c for c in self._codes if fake_wechat.openid_for(c) == worker.openid)
        return self.client.post("/api/v1/auth/wechat", json={"code": code}).get_json()["member_id"]

    # the tree
    def root_id(self) -> str:
        with self.app.extensions["unionhub"].db.engine.connect() as conn:
            return conn.execute(select(edb.units.c.id).where(edb.units.c.parent_id.is_(None))).scalar_one()

    def unit(self, headers, name, *, parent_id=None, kind="branch", requires_approval=False) -> dict:
        response = self.client.post(
            "/api/v1/branches",
            json={"name": name, "parent_id": parent_id, "kind": kind, "requires_approval": requires_approval},
            headers=headers,
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def staff(self, headers, username, *, roles=("admin",), unit_id=None, **extra) -> dict:
        body = {"username": username, "password": STAFF_PASSWORD, "roles": list(roles), "unit_id": unit_id}
        response = self.client.post("/api/v1/staff", json={**body, **extra}, headers=headers)
        assert response.status_code == 201, response.get_json()
        return bearer(self.login(username, STAFF_PASSWORD))

    def campaign(self, headers, branch_id, name="扫码入会", site="南明区快递驿站", **extra) -> dict:
        response = self.client.post(
            "/api/v1/campaigns",
            json={"branch_id": branch_id, "name": name, "site": site, **extra},
            headers=headers,
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    # joining
    def join(self, campaign_code, *, worker: Worker | None = None, headers=None, **overrides):
        """POST /api/v1/join; returns (response, worker)."""
        worker = worker or self.wechat()
        body = join_body(campaign_code, **overrides)
        response = self.client.post("/api/v1/join", json=body, headers={**worker.headers, **(headers or {})})
        worker.body = body
        if response.status_code == 201:
            answer = response.get_json()
            worker.token = answer["access_token"]
            worker.member_id, worker.card_no, worker.status = (
                answer["member_id"],
                answer["card_no"],
                answer["status"],
            )
        return response, worker

    def member(self, campaign_code, **overrides) -> Worker:
        response, worker = self.join(campaign_code, **overrides)
        assert response.status_code == 201, response.get_json()
        return worker

    # looking inside
    def rows(self, table, *where):
        with self.app.extensions["unionhub"].db.engine.connect() as conn:
            return conn.execute(select(table).where(*where)).all()

    def count(self, table) -> int:
        with self.app.extensions["unionhub"].db.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()

    def outbox(self):
        return self.rows(self.app.extensions["unionhub"].db.outbox)

    def snapshot(self) -> dict:
        """Row counts of every table a join or status change could write to."""
        outbox = self.app.extensions["unionhub"].db.outbox
        tables = [edb.members, edb.campaign_days, edb.card_serials, edb.idempotency_keys, edb.audit_log]
        return {t.name: self.count(t) for t in [*tables, outbox]}


def outbox_types(rows) -> list[str]:
    return [r.type for r in rows]
