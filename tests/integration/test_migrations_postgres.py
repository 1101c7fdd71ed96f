"""Every service's migrations on PostgreSQL, each test in a database of its own, dropped afterwards.

Besides what tests/unit/test_migrations.py checks on SQLite: the upgrade creates a missing
database, and processes upgrading one database at once (web workers, replicas, a deploy job) queue
on the schema lock, and all succeed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from services.common import kit, migrations
from services.common.db import SCHEMA_LOCK_KEY, drop_database, ensure_database
from services.common.sql import xact_lock
from services.registry import SERVICES

pytestmark = pytest.mark.integration

PG_ADMIN_URL = os.environ.get(
    "UNIONHUB_TEST_DATABASE_URL", "postgresql+psycopg://unionhub:unionhub@127.0.0.1:55432/unionhub"
)
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Services whose databases existed before migrations did, made by create_all (see the unit test).
ADOPTED = ["enrolment"]
NOW = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)


def _admin():
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


@pytest.fixture
def url():
    """The URL of a database that does not exist yet; whatever creates it, it is dropped after."""
    name = f"migrations_test_{uuid.uuid4().hex[:12]}"
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    drop_database(PG_ADMIN_URL, name)


def settings_for(name, url):
    return kit.load_settings(name, env={"DATABASE_URL": url})


def snapshot(settings) -> dict[str, list]:
    database = kit.database(settings.service, settings)
    try:
        with database.engine.connect() as conn:
            present = set(inspect(conn).get_table_names())  # an earlier release lacks later tables
            return {
                name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                for name, t in database.metadata.tables.items()
                if name in present
            }
    finally:
        database.engine.dispose()


def scratch_databases() -> set[str]:
    admin = _admin()
    try:
        with admin.connect() as conn:
            return set(
                conn.execute(
                    text("SELECT datname FROM pg_database WHERE datname LIKE '%_scratch_%'")
                ).scalars()
            )
    finally:
        admin.dispose()


@pytest.mark.parametrize("name", list(SERVICES))
def test_migrations_create_the_database_and_make_exactly_the_tables_the_code_declares(name, url):
    settings = settings_for(name, url)
    assert migrations.current(name, settings) == ()  # no database yet

    migrations.upgrade(name, settings)

    assert migrations.current(name, settings) == migrations.heads(name)
    assert migrations.compare(name, settings) == []


@pytest.mark.parametrize("name", list(SERVICES))
def test_db_check_builds_a_scratch_database_on_the_server_and_drops_it(name, url):
    before = scratch_databases()

    assert migrations.differences(name, settings_for(name, url)) == []

    assert scratch_databases() == before


@pytest.mark.parametrize("name", list(SERVICES))
def test_upgrading_twice_changes_nothing_the_second_time(name, url):
    settings = settings_for(name, url)
    migrations.upgrade(name, settings)
    database = kit.database(name, settings)
    with database.engine.begin() as conn:
        conn.execute(database.outbox.insert(), _outbox_row("e-1"))
    database.engine.dispose()
    before = snapshot(settings)

    migrations.upgrade(name, settings)

    assert migrations.current(name, settings) == migrations.heads(name)
    assert snapshot(settings) == before
    assert migrations.compare(name, settings) == []


@pytest.mark.parametrize("name", ADOPTED)
@pytest.mark.parametrize("release", ["sent_at index only", "both indexes"])
def test_a_database_create_all_made_is_adopted_with_its_rows_and_without_the_old_index(name, release, url):
    settings = settings_for(name, url)
    _make_as_an_earlier_release_did(settings, release)
    before = snapshot(settings)
    assert any(
        d[0] == "remove_index" and d[1].name == "ix_outbox_sent_at"
        for d in migrations.compare(name, settings)
    )

    migrations.upgrade(name, settings)

    assert migrations.current(name, settings) == migrations.heads(name)
    after = snapshot(settings)
    assert {table: rows for table, rows in after.items() if table in before} == before
    assert all(after[table] == [] for table in set(after) - set(before))  # tables added since: empty
    assert sum(len(rows) for rows in before.values()) >= 5
    engine = kit.database(name, settings).engine
    try:
        indexes = {i["name"]: i for i in inspect(engine).get_indexes("outbox")}
    finally:
        engine.dispose()
    assert "ix_outbox_sent_at" not in indexes
    assert "sent_at IS NULL" in indexes["ix_outbox_unsent"]["dialect_options"]["postgresql_where"]
    assert migrations.compare(name, settings) == []


@pytest.mark.parametrize("name", list(SERVICES))
def test_two_processes_upgrading_one_fresh_database_at_once_both_succeed(name, url, tmp_path):
    engine = create_engine(url)
    ensure_database(engine)
    env = {**os.environ, "UNIONHUB_DATABASE_URL": url, "UNIONHUB_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "services.cli", "db", "upgrade", name]
    try:
        # Holding the schema lock until both wait on it makes them contend, however fast one starts.
        with engine.begin() as conn:
            xact_lock(conn, SCHEMA_LOCK_KEY)
            processes = [
                subprocess.Popen(
                    command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
                for _ in range(2)
            ]
            _wait_for_waiters(url, 2, processes)
        outcomes = [(p.wait(timeout=60), *p.communicate()) for p in processes]
    finally:
        engine.dispose()

    for status, out, err in outcomes:
        assert status == 0, err.decode()
        assert out.decode().strip() == f"{name}: at {migrations.heads(name)[0]} (head)"
    settings = settings_for(name, url)
    assert migrations.current(name, settings) == migrations.heads(name)
    assert migrations.compare(name, settings) == []


@pytest.mark.parametrize("name", list(SERVICES))
def test_upgrades_starting_together_before_the_database_exists_all_succeed(name, url):
    # As web workers of a first deployment do: each finds no database and tries to create it.
    settings = settings_for(name, url)
    barrier = threading.Barrier(4)

    def upgrade(_):
        barrier.wait(timeout=10)
        migrations.upgrade(name, settings)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(upgrade, range(4)))

    assert migrations.current(name, settings) == migrations.heads(name)
    assert migrations.compare(name, settings) == []


# --- helpers ------------------------------------------------------------------------------------


def _wait_for_waiters(url: str, count: int, processes, timeout: float = 30) -> None:
    database = make_url(url).database
    admin = _admin()
    deadline = time.monotonic() + timeout
    try:
        while True:
            with admin.connect() as conn:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
                        " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = :name"
                    ),
                    {"name": database},
                ).scalar_one()
            if waiting >= count:
                return
            finished = [p for p in processes if p.poll() is not None]
            assert not finished, f"an upgrade ended before taking the lock: {finished[0].communicate()}"
            assert time.monotonic() < deadline, f"{waiting} of {count} upgrades wait on the schema lock"
            time.sleep(0.1)
    finally:
        admin.dispose()


def _outbox_row(event_id: str, sent: bool = False) -> dict:
    return {
        "event_id": event_id,
        "topic": "members",
        "key": "m-1",
        "type": "unionhub.member.joined.v1",
        "headers": "{}",
        "payload": '{"member_id": "m-1"}',
        "created_at": NOW,
        "sent_at": NOW if sent else None,
    }


def _make_as_an_earlier_release_did(settings, release: str) -> None:
    """A database as enrolment's create_all left it, with some rows (see the unit test's twin)."""
    name = settings.service
    database = kit.database(name, settings)
    with migrations.schema_transaction(database) as conn:
        command.upgrade(migrations.config(name, database, conn), migrations.baseline(name))
        conn.execute(text(f"DROP TABLE {migrations.VERSION_TABLE}"))
    tables = database.metadata.tables
    with database.engine.begin() as conn:
        conn.execute(text("CREATE INDEX ix_outbox_sent_at ON outbox (sent_at)"))
        if release == "sent_at index only":
            conn.execute(text("DROP INDEX ix_outbox_unsent"))
        conn.execute(database.outbox.insert(), [_outbox_row("e-1", sent=True), _outbox_row("e-2")])
        conn.execute(
            database.inbox.insert(),
            {"consumer": "c", "event_id": "e-0", "event_type": "t", "processed_at": NOW},
        )
        if "units" in tables:
            conn.execute(
                tables["units"].insert(),
                [
                    {
                        "id": "u-1",
                        "name": "贵州省总工会",
                        "kind": "federation",
                        "parent_id": None,
                        "path": "/u-1",
                        "requires_approval": False,
                        "created_at": NOW,
                    },
                    {
                        "id": "u-2",
                        "name": "顺丰分会",
                        "kind": "branch",
                        "parent_id": "u-1",
                        "path": "/u-1/u-2",
                        "requires_approval": True,
                        "created_at": NOW,
                    },
                ],
            )
            conn.execute(
                tables["staff"].insert(),
                {
                    "id": "s-1",
                    "username": "admin",
                    "password_hash": "x",
                    "roles": ["federation_admin"],
                    "unit_id": "u-1",
                    "store_ids": [],
                    "station_ids": [],
                    "disabled": False,
                    "created_at": NOW,
                },
            )
    database.engine.dispose()
