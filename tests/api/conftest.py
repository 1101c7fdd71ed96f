"""The enrolment app in-process (Flask test client) on a fresh SQLite file, a real Redis database
that is flushed around every test, and the fake WeChat served by a real local HTTP server.

The helpers themselves live in enrolment_api.py; ``tree`` builds the unit tree most tests share.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import redis
from argon2 import PasswordHasher
from enrolment_api import ADMIN_PASSWORD, Api, infra_missing
from werkzeug.serving import make_server

from services.enrolment import service
from services.enrolment.app import create_app
from services.enrolment.settings import EnrolmentSettings
from services.fakes import wechat as fake_wechat

# A database number of its own, flushed before and after every test.
REDIS_URL = os.environ.get("UNIONHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
# --- infrastructure ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_client():
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        infra_missing(f"Redis at {REDIS_URL} does not answer ({error})")
    yield client
    client.close()


@pytest.fixture
def clean_redis(redis_client):
    redis_client.flushdb()
    yield redis_client
    redis_client.flushdb()


@pytest.fixture(scope="session")
def wechat_url():
    """The fake code2session endpoint behind a real HTTP server on a free port."""
    server = make_server("127.0.0.1", 0, fake_wechat.create_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="fake-wechat", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/sns/jscode2session"
    server.shutdown()
    thread.join(timeout=5)


# --- the app ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    """Argon2 still, with the cheapest parameters: production's cost (~0.25 s a hash or check)
    would make the tree fixture's logins dominate the suite's time."""
    monkeypatch.setattr(service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def make_settings(tmp_path, monkeypatch, wechat_url, clean_redis) -> Callable[..., EnrolmentSettings]:
    monkeypatch.setenv("UNIONHUB_HOME", str(tmp_path))  # generated secrets land in tmp_path

    def build(**overrides) -> EnrolmentSettings:
        values = dict(
            service="enrolment",
            database_url=f"sqlite:///{tmp_path}/enrolment.db",
            redis_url=REDIS_URL,
            admin_password=ADMIN_PASSWORD,
            wechat_code2session_url=wechat_url,
            public_base_url="https://union.example.cn",
            log_level="WARNING",
        )
        values.update(overrides)
        return EnrolmentSettings(**values)

    return build


@pytest.fixture
def make_app(make_settings):
    built = []

    def build(**overrides):
        app = create_app({"SETTINGS": make_settings(**overrides), "TESTING": True})
        built.append(app)
        return app

    yield build
    for app in built:
        app.extensions["unionhub"].db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client, app) -> Api:
    return Api(client, app)


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
