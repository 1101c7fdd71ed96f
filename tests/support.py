"""What the tests of every service share, whatever the tier: where the infrastructure answers, what to
do when it does not, the fake WeChat and identity provider, the tests' Redis database, valid resident
IDs, mobiles and login codes, building a service's app in-process (or every service, wired as in
production, with an event pump standing in for Kafka), and an API client that logs in the way the
mini-app does.

Nothing here knows a service's tables; a service's own helpers (e.g. tests/api/enrolment/conftest.py)
build on these. Fixtures are defined here and bound by name in a conftest (tests/conftest.py binds
the shared ones for every tier).
"""

from __future__ import annotations

import importlib.util
import itertools
import json as jsonlib
import os
import random
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields
from datetime import date, timedelta
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest
import redis
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.serving import make_server

from schemas.resident_id import compute_check_char
from services.common.db import drop_database
from services.fakes import identity as fake_identity
from services.fakes import wechat as fake_wechat

# --- where the infrastructure answers -----------------------------------------------------------

KAFKA_BOOTSTRAP = os.environ.get(
    "UNIONHUB_KAFKA_BOOTSTRAP", os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
)
PG_ADMIN_URL = os.environ.get(
    "UNIONHUB_TEST_DATABASE_URL", "postgresql+psycopg://unionhub:unionhub@127.0.0.1:55432/unionhub"
)
# A database number of the tests' own, flushed around every test: never the running system's (0).
REDIS_URL = os.environ.get("UNIONHUB_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
GATEWAY_URL = os.environ.get("UNIONHUB_GATEWAY_URL", "http://127.0.0.1:8000").rstrip("/")
# The running system's bootstrap admin (deploy/local/up.sh), for end-to-end tests.
GATEWAY_ADMIN_PASSWORD = os.environ.get("UNIONHUB_ADMIN_PASSWORD", "unionhub-admin")

# The bootstrap admin of apps the tests build in-process, and the password of staff they create.
ADMIN_PASSWORD = "test-admin-password"
STAFF_PASSWORD = "staff-password-1"
PROBLEM = "application/problem+json"

START_INFRA = "start it with `bash deploy/local/infra.sh up`"
START_SYSTEM = "start the system with `bash deploy/local/up.sh`"


def infra_missing(reason: str, *, hint: str = START_INFRA) -> NoReturn:
    """Skip, or fail when UNIONHUB_REQUIRE_INFRA is set (CI sets it to 1): a CI run must not go green
    by skipping a tier whose infrastructure did not start."""
    if os.environ.get("UNIONHUB_REQUIRE_INFRA", "") not in ("", "0"):
        pytest.fail(f"UNIONHUB_REQUIRE_INFRA is set and {reason}", pytrace=False)
    pytest.skip(f"{reason}; {hint} (UNIONHUB_REQUIRE_INFRA=1 fails instead)")


def registry_facts():
    """deploy/local/registry_facts.py, the local scripts' one reader of services/registry.py (it is
    a script, not a package module, so it is loaded from its path)."""
    path = Path(__file__).resolve().parents[1] / "deploy" / "local" / "registry_facts.py"
    spec = importlib.util.spec_from_file_location("registry_facts", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- servers and stores the tests own -------------------------------------------------------------


@contextmanager
def http_server(wsgi_app, name: str = "test-http") -> Iterator[str]:
    """A WSGI app behind a real HTTP server on a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def wechat_fake(scope: str = "session"):
    """A fixture yielding the fake code2session URL. Served over real HTTP, not patched, so a service's
    own WeChat client (its timeouts, its error mapping) is what the tests run."""

    @pytest.fixture(scope=scope)
    def wechat_url():
        with http_server(fake_wechat.create_app(), "fake-wechat") as base:
            yield f"{base}/sns/jscode2session"

    return wechat_url


def identity_fake(scope: str = "session"):
    """A fixture yielding the fake identity provider's base URL (二要素 checks, SMS delivery and its
    outbox), over real HTTP like the WeChat fake."""

    @pytest.fixture(scope=scope)
    def identity_url():
        with http_server(fake_identity.create_app(), "fake-identity") as base:
            yield base

    return identity_url


def identity_settings(base_url: str) -> dict:
    """Enrolment's settings that point it at an identity provider served at ``base_url``."""
    return {"identity_verify_url": f"{base_url}/identity/verify", "sms_send_url": f"{base_url}/sms/send"}


def sent_sms_code(base_url: str, mobile: str) -> str:
    """The newest code the fake identity provider at ``base_url`` texted to ``mobile``."""
    response = requests.get(f"{base_url}/fake/sms/messages", params={"mobile": mobile}, timeout=10)
    response.raise_for_status()
    messages = response.json()
    assert messages, f"no SMS was sent to {mobile}"
    return messages[0]["code"]


@pytest.fixture(scope="session")
def redis_client() -> Iterator[redis.Redis]:
    """The tests' Redis database (UNIONHUB_TEST_REDIS_URL), checked once a session."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        infra_missing(f"Redis at {REDIS_URL} does not answer ({error})")
    yield client
    client.close()


@pytest.fixture
def clean_redis(redis_client) -> Iterator[redis.Redis]:
    """The tests' Redis database, empty before and after the test: rate limits and single-use codes
    left by one test would otherwise refuse the next one's requests."""
    redis_client.flushdb()
    yield redis_client
    redis_client.flushdb()


@contextmanager
def fresh_postgres_database(prefix: str = "test") -> Iterator[str]:
    """A new, empty PostgreSQL database made with the unionhub role; dropped afterwards. Yields its URL."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as error:
        infra_missing(f"PostgreSQL at {make_url(PG_ADMIN_URL).render_as_string()} is not usable ({error})")
    finally:
        admin.dispose()
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(PG_ADMIN_URL, name)


# A fixture's params for a test of both databases; PostgreSQL's runs are the integration tier's.
SQLITE_AND_POSTGRES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


@contextmanager
def service_database(service: str, kind: str, tmp_path: Path, prefix: str) -> Iterator[tuple[Any, Any]]:
    """A service's settings and ``Database``, empty, on a SQLite file or (``kind`` "postgresql") a
    fresh PostgreSQL database named after ``prefix``; disposed of afterwards."""
    from services.common import kit

    with ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path}/{service}.db"
        else:
            url = stack.enter_context(fresh_postgres_database(prefix))
        settings = kit.load_settings(service, env={"DATABASE_URL": url})
        database = kit.database(service, settings)
        try:
            yield settings, database
        finally:
            database.engine.dispose()


def migrate(service: str, database, revision: str, *, down: bool = False) -> None:
    """Take a service's schema up (or ``down``) to ``revision``, as ``unionhub db upgrade`` does."""
    from alembic import command

    from services.common import migrations

    with migrations.schema_transaction(database) as conn:
        cfg = migrations.config(service, database, conn)
        (command.downgrade if down else command.upgrade)(cfg, revision)


@dataclass
class RoundTrips:
    count: int = 0


@contextmanager
def round_trips(engine, directory: Path) -> Iterator[RoundTrips]:
    """The round trips to PostgreSQL that connections checked out of ``engine`` make inside the
    block, counted from libpq's trace of the protocol (written under ``directory``): a client waits
    for the answer to each Sync (extended protocol) and each Query (simple protocol) it sends, and
    sends nothing in between that the server must answer first."""
    from psycopg import pq
    from sqlalchemy import event

    trace = directory / f"libpq-{uuid.uuid4().hex[:8]}.trace"
    fd = os.open(trace, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    tracing = []

    def traced(dbapi_conn, *_):
        dbapi_conn.pgconn.trace(fd)
        dbapi_conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        tracing.append(dbapi_conn)

    def untraced(dbapi_conn, *_):
        if not dbapi_conn.closed:
            dbapi_conn.pgconn.untrace()  # flushes what it wrote

    counted = RoundTrips()
    event.listen(engine, "checkout", traced)
    event.listen(engine, "checkin", untraced)
    try:
        yield counted
    finally:
        event.remove(engine, "checkout", traced)
        event.remove(engine, "checkin", untraced)
        for dbapi_conn in tracing:  # one still checked out must not write to the fd once closed
            untraced(dbapi_conn)
        os.close(fd)
    sent = [line.split("\t") for line in trace.read_text().splitlines()]
    counted.count = sum(1 for f in sent if f[0] == "F" and f[2].split()[0] in ("Sync", "Query"))


@contextmanager
def topic_tail(topic: str, bootstrap: str = KAFKA_BOOTSTRAP, *, hint: str = START_INFRA):
    """A consumer of every partition of ``topic``, positioned at its current end: it sees only what
    is published afterwards, whoever else writes to the topic meanwhile."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        partitions = consumer.partitions_for_topic(topic)
    except KafkaError as error:
        infra_missing(f"Kafka at {bootstrap} does not answer ({error})", hint=hint)
    try:
        if not partitions:
            pytest.fail(f"topic {topic!r} does not exist; create it with `unionhub topics`")
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        for tp, offset in consumer.end_offsets(assigned).items():
            consumer.seek(tp, offset)
        yield consumer
    finally:
        consumer.close()


# --- building a service in-process ----------------------------------------------------------------


def service_settings(name: str, directory, **overrides):
    """Service ``name``'s settings for an app built in-process: a SQLite file in ``directory``, the
    tests' Redis, quiet logs; ``overrides`` win."""
    from services.common import kit

    values = dict(
        service=name,
        database_url=f"sqlite:///{directory}/{name}.db",
        redis_url=REDIS_URL,
        public_base_url="https://union.example.cn",
        log_level="WARNING",
    )
    values.update(overrides)
    return kit.service(name).part("settings")(**values)


def build_app(name: str, settings, **config):
    """Service ``name``'s web app as production builds it: migrations first, then the kit's factory."""
    from services.common import kit, migrations

    migrations.upgrade(name, settings)
    return kit.create_app(name, {"SETTINGS": settings, "TESTING": True, **config})


def dispose_app(app) -> None:
    app.extensions["unionhub"].db.engine.dispose()


# --- every service in-process, wired as in production ------------------------------------------------

IDENTITY_SERVICE = "enrolment"  # issues every token, so it is built first


def settings_fields(name: str) -> dict:
    """Service ``name``'s settings and their defaults."""
    from services.common import kit

    return {f.name: f.default for f in fields(kit.service(name).part("settings"))}


def fake_overrides(name: str, fakes: dict[str, str]) -> dict:
    """Every URL setting whose default points at a local fake (services/registry.py's FAKES) is
    pointed at that fake's test server instead: a fake added later is picked up without a change here."""
    from services.registry import FAKES

    overrides = {}
    for key, default in settings_fields(name).items():
        if not isinstance(default, str) or not default.startswith("http://"):
            continue
        url = urlsplit(default)
        for fake, port in FAKES.items():
            if url.port == port and fake in fakes:
                overrides[key] = fakes[fake] + url.path
    return overrides


@contextmanager
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 with the cheapest parameters: at production cost (~0.25 s a hash) a bed that logs in
    a dozen staff spends its time hashing."""
    from argon2 import PasswordHasher

    from services.enrolment import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    # The dummy hash an unknown username is checked against (so its answer takes as long as a
    # wrong password) carries production's cost in itself, whatever hasher verifies it.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(accounts, "_hasher", cheap)
        if hasattr(accounts, "_DUMMY_HASH"):
            mp.setattr(accounts, "_DUMMY_HASH", cheap.hash("cheap-dummy-password"))
        yield


@contextmanager
def every_service(directory, overrides: dict[str, dict] | None = None) -> Iterator[dict[str, Any]]:
    """Every built service of the registry in-process (name → Flask app), each on its own SQLite file
    in ``directory``, with the fakes of outside systems over real HTTP. Enrolment is built first and
    served over HTTP too: the others verify its tokens with its JWKS, read its card keys and ask it
    for branch paths, as in production. ``overrides`` (service → settings) win; a setting a service
    does not have is left out. No events flow: pass the apps to ``EventPump`` for that."""
    from services.registry import FAKES, SERVICES

    apps: dict[str, Any] = {}
    with ExitStack() as stack:
        stack.enter_context(cheap_password_hashing())
        fakes = {}
        for fake in FAKES:
            module = importlib.import_module(f"services.fakes.{fake}")
            fakes[fake] = stack.enter_context(http_server(module.create_app(), f"fake-{fake}"))
        names = [IDENTITY_SERVICE, *(n for n in SERVICES if n != IDENTITY_SERVICE)]
        enrolment_url = None
        for name in names:
            values = {**fake_overrides(name, fakes), **(overrides or {}).get(name, {})}
            if enrolment_url:
                values["jwks_url"] = f"{enrolment_url}/.well-known/jwks.json"
                values["enrolment_url"] = enrolment_url
            known = settings_fields(name)
            values = {k: v for k, v in values.items() if k in known}
            app = build_app(name, service_settings(name, directory, **{"redis_url": REDIS_URL, **values}))
            stack.callback(dispose_app, app)
            apps[name] = app
            if name == IDENTITY_SERVICE and len(SERVICES) > 1:
                enrolment_url = stack.enter_context(http_server(app, "enrolment"))
        yield apps


def dispatcher(app):
    """The dispatcher service ``app``'s consumer runs: its handlers, its inbox, one transaction each."""
    from events.dispatch import Dispatcher
    from services.common import kit

    ctx = app.extensions["unionhub"]
    name = ctx.settings.service
    return Dispatcher(
        name, kit.service(name).part("handlers"), ctx.db.catalogue, ctx.db.unit_of_work, ctx.db.inbox
    )


class EventPump:
    """The relays and consumers of apps built in-process: each call publishes every app's unsent
    outbox rows to every app that handles events (inbox, schemas and handlers as their workers run
    them) until no outbox holds anything, and answers how many events moved."""

    def __init__(self, apps: dict[str, Any]):
        from events.memory import InMemoryBus

        self.apps = apps
        self.bus = InMemoryBus()
        for app in apps.values():
            self.bus.subscribe(dispatcher(app))

    def __call__(self) -> int:
        moved = 0
        while True:
            batch = 0
            for app in self.apps.values():
                db = app.extensions["unionhub"].db
                batch += self.bus.relay(db.engine, db.outbox)
            if not batch:
                assert not self.bus.dead_letters, f"events dead-lettered: {self.bus.dead_letters}"
                return moved
            moved += batch


# --- identities -----------------------------------------------------------------------------------

_serials = itertools.count(1)


def resident_id(*, born: date = date(1990, 3, 7), female: bool = False, region: str = "520102") -> str:
    """A valid 18-character resident ID number (GB 11643 check character), different on every call
    in this process: enough for a database that lives one test."""
    n = next(_serials)
    born = born + timedelta(days=n // 500)  # 500 sequence numbers per birth date, then the next day
    sex_digit = 2 * (n % 5) + (0 if female else 1)  # odd for men, even for women
    first17 = f"{region}{born:%Y%m%d}{(n % 500) // 5:02d}{sex_digit}"
    return first17 + compute_check_char(first17)


def mobile() -> str:
    """A mobile number different on every call in this process, masked as 138****5678 like the
    tests' usual one: joins rate-limit SMS codes per mobile."""
    return f"138{next(_serials) % 10_000:04d}5678"


def unique_resident_id() -> str:
    """A valid resident ID that no earlier run against a long-lived database has used (random region
    and birth date), for the running system."""
    region = f"{random.randint(1, 8)}{random.randint(0, 99999):05d}"
    born = date(1960, 1, 1) + timedelta(days=random.randint(0, 40 * 365))
    first17 = f"{region}{born:%Y%m%d}{random.randint(0, 999):03d}"
    return first17 + compute_check_char(first17)


def wx_code(prefix: str = "code") -> str:
    """A wx.login code no one has used: the fake WeChat maps each code to its own openid."""
    return f"{prefix}-{uuid.uuid4().hex}"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- the API as a client sees it --------------------------------------------------------------------


@dataclass
class WechatUser:
    """Someone logged in with a wx.login code; logging in with the same code is the same person."""

    token: str
    openid: str
    member_id: str | None = None
    code: str = ""

    @property
    def headers(self) -> dict:
        return bearer(self.token)


@dataclass
class Reply:
    """An HTTP answer read the same way from a Flask test client and from requests."""

    status_code: int
    headers: Any
    content: bytes
    raw: Any  # the client's own response object

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return jsonlib.loads(self.content) if self.content else None


class Api:
    """Calls a service's API the way the mini-app and the admin console do, over a Flask test client
    (in-process) or a ``requests.Session`` (the running system, through the gateway), so one test
    helper serves both tiers.

    ``get``/``post`` answer the JSON body and assert the status; ``send`` answers the ``Reply`` for
    tests that look at a refusal.
    """

    staff_login_path = "/api/v1/auth/staff/login"
    wechat_login_path = "/api/v1/auth/wechat"
    user_class: type[WechatUser] = WechatUser  # a service's helpers may log in richer users
    timeout = 10  # seconds, over HTTP

    def __init__(self, client, *, base_url: str = "", admin_password: str = ADMIN_PASSWORD):
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.admin_password = admin_password

    @classmethod
    def over_gateway(cls, session: requests.Session | None = None, base_url: str = GATEWAY_URL) -> Api:
        return cls(session or requests.Session(), base_url=base_url, admin_password=GATEWAY_ADMIN_PASSWORD)

    # plain calls
    def send(self, method: str, path: str, *, json: Any = None, headers: dict | None = None) -> Reply:
        if isinstance(self.client, requests.Session):
            response = self.client.request(
                method, self.base_url + path, json=json, headers=headers, timeout=self.timeout
            )
            return Reply(response.status_code, response.headers, response.content, response)
        response = self.client.open(path, method=method, json=json, headers=headers)
        return Reply(response.status_code, response.headers, response.data, response)

    def call(self, method: str, path: str, *, json: Any = None, headers: dict | None = None, expect=200):
        reply = self.send(method, path, json=json, headers=headers)
        assert reply.status_code == expect, f"{method} {path}: HTTP {reply.status_code}: {reply.text}"
        return reply.json()

    def get(self, path: str, *, headers: dict | None = None, expect: int = 200):
        return self.call("GET", path, headers=headers, expect=expect)

    def post(self, path: str, json: Any = None, *, headers: dict | None = None, expect: int = 200):
        return self.call("POST", path, json=json, headers=headers, expect=expect)

    # logging in
    def login(self, username: str = "admin", password: str | None = None) -> str:
        """A staff member's access token (the bootstrap admin's by default)."""
        body = {"username": username, "password": password or self.admin_password}
        return self.post(self.staff_login_path, body)["access_token"]

    def as_staff(self, username: str, password: str = STAFF_PASSWORD) -> dict:
        return bearer(self.login(username, password))

    def admin(self) -> dict:
        return bearer(self.login())

    def wechat(self, code: str | None = None) -> WechatUser:
        code = code or wx_code()
        body = self.post(self.wechat_login_path, {"code": code})
        return self.user_class(
            body["access_token"], fake_wechat.openid_for(code), member_id=body["member_id"], code=code
        )

    def wechat_relogin(self, user: WechatUser) -> str | None:
        """Log the same WeChat user in again; the member_id the login answers."""
        return self.post(self.wechat_login_path, {"code": user.code})["member_id"]


# --- services other than enrolment: tokens and member events ------------------------------------------


@dataclass
class TokenMint:
    """Issues access tokens as enrolment does and serves their JWKS over real HTTP, so a service built
    in-process verifies them the way it does in production (services/common/jwks.py JwksKeys)."""

    issuer: Any  # services.enrolment.tokens.Issuer
    jwks_url: str

    @property
    def settings(self) -> dict:
        """What a service's settings need to trust these tokens (pass to ``service_settings``)."""
        return {"jwks_url": self.jwks_url, "jwt_issuer": self.issuer.issuer}

    @property
    def verifier(self):
        from services.common.auth import TokenVerifier

        return TokenVerifier(self.issuer, self.issuer.issuer)

    def headers(self, subject: str, roles, **scopes) -> dict:
        return bearer(self.issuer.issue(subject, list(roles), **scopes)[0])

    def member(self, member_id: str) -> dict:
        return self.headers(f"wx:{member_id}", ["member"], member_id=member_id)

    def admin(self, *units: str, staff_id: str = "admin") -> dict:
        return self.headers(f"staff:{staff_id}", ["admin"], units=list(units))

    def staff(self, staff_id: str, *roles: str) -> dict:
        return self.headers(f"staff:{staff_id}", roles)


def token_mint(scope: str = "session"):
    """A fixture yielding a ``TokenMint``."""

    @pytest.fixture(scope=scope)
    def fixture() -> Iterator[TokenMint]:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from flask import Flask

        from services.enrolment.secrets import SigningKey
        from services.enrolment.tokens import Issuer

        issuer = Issuer([SigningKey("test-key", Ed25519PrivateKey.generate())], "unionhub-test", 900)
        app = Flask("jwks")
        app.get("/.well-known/jwks.json")(issuer.jwks)
        with http_server(app, "jwks") as base_url:
            yield TokenMint(issuer, f"{base_url}/.well-known/jwks.json")

    return fixture


def member_event(event_type: str, member_id: str, **data) -> Any:
    """A member event as enrolment publishes it (payload in its JSON form), for a service's handlers.

    ``joined`` defaults to an active member of branch "b-1" under the federation "root".
    """
    from datetime import UTC, datetime

    from events.envelope import Event
    from schemas.events import members as m

    payload = {"member_id": member_id, "occurred_at": datetime.now(UTC).isoformat()}
    if event_type in (m.JOINED, m.REASSIGNED):
        payload.update(branch_id="b-1", branch_path=["root", "b-1"], status="active")
        if event_type == m.JOINED:
            payload["card_no"] = f"52{abs(hash(member_id)) % 10**14:014d}"
    if event_type == m.LEFT:
        payload["reason"] = "left"
    payload.update(data)
    return Event(type=event_type, source="/unionhub/enrolment", subject=member_id, data=payload)


def deliver(app, *events) -> list:
    """Apply events to service ``app``'s database with its own handlers, exactly as its consumer
    does (inbox, schemas, one transaction per event); answers each event's outcome."""
    applying = dispatcher(app)
    return [applying.deliver(event)[0] for event in events]


@dataclass
class EnrolmentStandIn:
    """What other services ask enrolment over HTTP, answered from dicts a test fills: where a branch
    sits in the tree (checked against the admin token's units, as enrolment does) and a member's
    sex and birth year."""

    url: str
    tree: dict[str, list[str]]  # branch id -> ancestry, federation first
    profiles: dict[str, dict]  # member id -> {"sex": ..., "birth_year": ...}


def enrolment_stand_in(mint_fixture: str = "token_mint", scope: str = "session"):
    """A fixture yielding an ``EnrolmentStandIn`` over real HTTP; it trusts the tokens of the
    ``TokenMint`` fixture named ``mint_fixture``. The tree starts as root > b-1, root > b-2."""

    @pytest.fixture(scope=scope)
    def fixture(request) -> Iterator[EnrolmentStandIn]:
        from flask import Flask, abort
        from flask import request as flask_request

        mint: TokenMint = request.getfixturevalue(mint_fixture)
        tree = {"root": ["root"], "b-1": ["root", "b-1"], "b-2": ["root", "b-2"]}
        profiles: dict[str, dict] = {}

        def claims() -> dict:
            token = flask_request.headers.get("Authorization", "").removeprefix("Bearer ")
            try:
                return mint.verifier.verify(token).claims
            except Exception:  # noqa: BLE001 - any bad token is a 401, as enrolment answers
                abort(401)

        app = Flask("enrolment-stand-in")

        @app.get("/api/v1/branches/<branch_id>")
        def branch(branch_id):
            path = tree.get(branch_id)
            if path is None or not set(claims().get("units", ())) & set(path):
                abort(404)
            return {"id": branch_id, "path": path}

        @app.get("/api/v1/members/me")
        def me():
            member_id = claims().get("member_id")
            return profiles.get(member_id, {"sex": None, "birth_year": None}) if member_id else abort(403)

        with http_server(app, "enrolment-stand-in") as base_url:
            yield EnrolmentStandIn(base_url, tree, profiles)

    return fixture


# --- reading QR codes as a scanner does ----------------------------------------------------------------


def decode_qr(png_bytes: bytes) -> list[str]:
    """What a scanner reads from a PNG: zbar through pyzbar, or the zbarimg command
    (deploy/local/infra.sh installs both); neither there is missing infrastructure."""
    try:
        from pyzbar import pyzbar
    except ImportError:  # the Python binding, or the libzbar0 it loads, is missing
        pyzbar = None
    if pyzbar is not None:
        import png

        width, height, rows, _ = png.Reader(bytes=png_bytes).asRGBA8()
        grey = bytes(value for row in rows for value in row[::4])
        return [s.data.decode() for s in pyzbar.decode((grey, width, height)) if s.type == "QRCODE"]
    if shutil.which("zbarimg"):
        out = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", "-"],
            input=png_bytes,
            capture_output=True,
            check=False,
        )
        return [line.decode() for line in out.stdout.splitlines() if line]
    infra_missing("zbar is not installed (deploy/local/infra.sh installs libzbar0 and zbar-tools)")
