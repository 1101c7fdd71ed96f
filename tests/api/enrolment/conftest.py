"""Enrolment in-process (Flask test client) on a fresh SQLite file, with the shared fixtures of
tests/conftest.py: the tests' Redis database flushed around every test, the fake WeChat over HTTP;
and the fake identity provider over HTTP, whose SMS outbox gives the join helpers their codes.

What is enrolment's own lives here: its app, ``EnrolmentApi`` (the generic ``tests.support.Api`` plus
units, campaigns, joining, and reads of enrolment's tables), and ``tree``, the unit tree most tests
share. Test modules and the Kafka integration test import the helpers from this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from schemas import mobile as mobile_rules
from services.enrolment import accounts
from services.enrolment import tables as et
from services.enrolment.settings import EnrolmentSettings
from tests import support
from tests.support import (
    ADMIN_PASSWORD,
    STAFF_PASSWORD,
    Api,
    WechatUser,
    build_app,
    dispose_app,
    identity_settings,
    mobile,
    resident_id,
    sent_sms_code,
    service_settings,
)

identity_url = support.identity_fake(scope="session")

UNSENT_CODE = "000000"  # well-formed, never sent: a body for tests refused before the code is checked


def join_body(campaign_code: str, **overrides) -> dict:
    body = {
        "campaign_code": campaign_code,
        "name": "张三",
        "mobile": mobile(),
        "sms_code": UNSENT_CODE,
        "id_number": resident_id(),
        "employer": "顺丰速运",
        "occupation": "快递员",
        "consent": True,
    }
    body.update(overrides)
    return body


def outbox_types(rows) -> list[str]:
    return [r.type for r in rows]


@dataclass
class Worker(WechatUser):
    """A WeChat user on their way to membership; ``api.join`` fills in what joining answered."""

    card_no: str | None = None
    status: str | None = None
    body: dict = field(default_factory=dict)


class EnrolmentApi(Api):
    """The calls enrolment's tests make again and again, against the Flask test client, and reads of
    enrolment's tables and outbox to check what a call wrote."""

    user_class = Worker

    def __init__(self, client, app):
        super().__init__(client)
        self.app = app

    # the tree
    def root_id(self) -> str:
        with self.app.extensions["unionhub"].db.engine.connect() as conn:
            return conn.execute(select(et.units.c.id).where(et.units.c.parent_id.is_(None))).scalar_one()

    def unit(self, headers, name, *, parent_id=None, kind="branch", requires_approval=False) -> dict:
        body = {"name": name, "parent_id": parent_id, "kind": kind, "requires_approval": requires_approval}
        return self.post("/api/v1/branches", body, headers=headers, expect=201)

    def staff(self, headers, username, *, roles=("admin",), unit_id=None, **extra) -> dict:
        """Create a staff account; its login headers."""
        body = {"username": username, "password": STAFF_PASSWORD, "roles": list(roles), "unit_id": unit_id}
        self.post("/api/v1/staff", {**body, **extra}, headers=headers, expect=201)
        return self.as_staff(username, STAFF_PASSWORD)

    def campaign(self, headers, branch_id, name="扫码入会", site="南明区快递驿站", **extra) -> dict:
        body = {"branch_id": branch_id, "name": name, "site": site, **extra}
        return self.post("/api/v1/campaigns", body, headers=headers, expect=201)

    # joining
    def request_sms_code(self, worker: WechatUser, mobile: str, *, expect: int = 202):
        return self.post("/api/v1/join/sms-code", {"mobile": mobile}, headers=worker.headers, expect=expect)

    def sms_code(self, worker: WechatUser, mobile: str) -> str:
        """Have a code texted to ``mobile`` for this worker and read it from the fake's outbox."""
        self.request_sms_code(worker, mobile)
        return self.last_sms_code(mobile)

    def last_sms_code(self, mobile: str) -> str:
        sms_url = self.app.extensions["enrolment"].settings.sms_send_url
        return sent_sms_code(sms_url.removesuffix("/sms/send"), mobile_rules.normalise(mobile))

    def join_body(self, campaign_code, worker: WechatUser, **overrides) -> dict:
        """A join body with a code really texted to its mobile, unless ``sms_code`` is given or
        the mobile is one enrolment refuses (then the join is refused before any code is checked)."""
        body = join_body(campaign_code, **overrides)
        if "sms_code" not in overrides and mobile_rules.is_valid(body["mobile"]):
            body["sms_code"] = self.sms_code(worker, body["mobile"])
        return body

    def join(self, campaign_code, *, worker: Worker | None = None, headers=None, **overrides):
        """POST /api/v1/join with a fresh SMS code; returns (response, worker)."""
        worker = worker or self.wechat()
        body = self.join_body(campaign_code, worker, **overrides)
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
        tables = [
            et.members, et.campaign_days, et.card_serials, et.idempotency_keys, et.audit_log, et.disputes,
        ]  # fmt: skip
        return {t.name: self.count(t) for t in [*tables, outbox]}


def enrolment_settings(directory, wechat_url: str, identity_url: str, **overrides) -> EnrolmentSettings:
    values = {
        "admin_password": ADMIN_PASSWORD,
        "wechat_code2session_url": wechat_url,
        **identity_settings(identity_url),
        **overrides,
    }
    return service_settings("enrolment", directory, **values)


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    """Argon2 still, with the cheapest parameters: production's cost (~0.25 s a hash or check)
    would make the tree fixture's logins dominate the suite's time."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)


@pytest.fixture
def make_settings(
    tmp_path, monkeypatch, wechat_url, identity_url, clean_redis
) -> Callable[..., EnrolmentSettings]:
    monkeypatch.setenv("UNIONHUB_HOME", str(tmp_path))  # generated secrets land in tmp_path

    def build(**overrides) -> EnrolmentSettings:
        return enrolment_settings(tmp_path, wechat_url, identity_url, **overrides)

    return build


@pytest.fixture
def make_app(make_settings):
    built = []

    def build(**overrides):
        app = build_app("enrolment", make_settings(**overrides))
        built.append(app)
        return app

    yield build
    for app in built:
        dispose_app(app)


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client, app) -> EnrolmentApi:
    return EnrolmentApi(client, app)


@dataclass
class Tree:
    """federation ─┬─ city A ─┬─ branch A1 (open)    ─ campaign a1
                   │          └─ branch A2 (approval) ─ campaign a2
                   └─ city B ─── branch B1 (open)    ─ campaign b1
    with an admin of the federation, of city A and of branch A1."""

    root: dict
    city_a: dict
    city_b: dict
    a1: dict
    a2: dict
    b1: dict
    campaign_a1: dict
    campaign_a2: dict
    campaign_b1: dict
    fed_admin: dict
    city_a_admin: dict
    a1_admin: dict


@pytest.fixture
def tree(api) -> Tree:
    fed = api.admin()
    root = {"id": api.root_id()}
    city_a = api.unit(fed, "贵阳市总工会", parent_id=root["id"], kind="city")
    city_b = api.unit(fed, "遵义市总工会", parent_id=root["id"], kind="city")
    a1 = api.unit(fed, "贵阳市顺丰分会", parent_id=city_a["id"])
    a2 = api.unit(fed, "贵阳市美团分会", parent_id=city_a["id"], requires_approval=True)
    b1 = api.unit(fed, "遵义市京东分会", parent_id=city_b["id"])
    return Tree(
        root=root,
        city_a=city_a,
        city_b=city_b,
        a1=a1,
        a2=a2,
        b1=b1,
        campaign_a1=api.campaign(fed, a1["id"]),
        campaign_a2=api.campaign(fed, a2["id"], site="云岩区骑手之家"),
        campaign_b1=api.campaign(fed, b1["id"], site="汇川区服务站"),
        fed_admin=fed,
        city_a_admin=api.staff(fed, "city-a-admin", unit_id=city_a["id"]),
        a1_admin=api.staff(fed, "a1-admin", unit_id=a1["id"]),
    )
