"""Every service's migrations on SQLite (the quick start's database), each in a file under tmp_path.

The first test is the check that a service's tables and its migrations never differ: a column added
to tables.py without a revision that adds it fails here (and in ``unionhub db check``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Column, MetaData, String, inspect, select, text

from services import cli
from services.common import kit, migrations
from services.common.db import Database
from services.registry import SERVICES

# Services whose databases existed before migrations did, made by create_all; they are adopted. A
# service born with migrations has no such databases.
ADOPTED = ["enrolment"]

NOW = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)


def sqlite_settings(name, tmp_path):
    return kit.load_settings(name, env={"DATABASE_URL": f"sqlite:///{tmp_path}/{name}.db"})


def index_names(settings, table):
    engine = kit.database(settings.service, settings).engine
    try:
        return {i["name"] for i in inspect(engine).get_indexes(table)}
    finally:
        engine.dispose()


def snapshot(settings) -> dict[str, list]:
    """Every row of every table the service declares, in primary key order."""
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


@pytest.mark.parametrize("name", list(SERVICES))
def test_migrations_from_empty_make_exactly_the_tables_the_code_declares(name, tmp_path):
    settings = sqlite_settings(name, tmp_path)

    migrations.upgrade(name, settings)

    assert migrations.current(name, settings) == migrations.heads(name)
    assert migrations.compare(name, settings) == []


@pytest.mark.parametrize("name", list(SERVICES))
def test_history_is_one_line_with_one_head(name):
    # Two branches each adding a revision give two heads; `upgrade head` then refuses to run.
    assert len(migrations.heads(name)) == 1


@pytest.mark.parametrize("name", list(SERVICES))
def test_upgrading_twice_changes_nothing_the_second_time(name, tmp_path):
    settings = sqlite_settings(name, tmp_path)
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
@pytest.mark.parametrize(
    "release",
    [
        "sent_at index only",  # the releases before the partial index
        "both indexes",  # the index's own release kept the old one next to the new one
    ],
)
def test_a_database_create_all_made_is_adopted_with_its_rows_and_without_the_old_index(
    name, release, tmp_path
):
    settings = sqlite_settings(name, tmp_path)
    _make_as_an_earlier_release_did(settings, release)
    before = snapshot(settings)
    assert any(d[0] == "remove_index" and d[1].name == "ix_outbox_sent_at" for d in _compare(settings))

    migrations.upgrade(name, settings)

    assert migrations.current(name, settings) == migrations.heads(name)
    after = snapshot(settings)
    assert {table: rows for table, rows in after.items() if table in before} == before
    assert all(after[table] == [] for table in set(after) - set(before))  # tables added since: empty
    assert sum(len(rows) for rows in before.values()) >= 5
    indexes = index_names(settings, "outbox")
    assert "ix_outbox_sent_at" not in indexes and "ix_outbox_unsent" in indexes
    assert migrations.compare(name, settings) == []


def test_unionhub_db_upgrade_current_and_check(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("UNIONHUB_HOME", str(tmp_path))
    for name in SERVICES:
        monkeypatch.setenv("UNIONHUB_DATABASE_URL", f"sqlite:///{tmp_path}/{name}.db")
        head = migrations.heads(name)[0]

        assert cli.main(["db", "current", name]) == 0
        assert capsys.readouterr().out == f"{name}: not migrated yet (head is {head})\n"
        assert cli.main(["db", "upgrade", name]) == 0
        assert capsys.readouterr().out == f"{name}: at {head} (head)\n"
        assert cli.main(["db", "current", name]) == 0
        assert capsys.readouterr().out == f"{name}: {head} (head)\n"
        assert cli.main(["db", "check", name]) == 0
        assert "exactly the tables the code declares" in capsys.readouterr().out
        assert cli.main(["db", "check", "--live", name]) == 0
        assert "its database has exactly" in capsys.readouterr().out


def test_unionhub_db_check_fails_and_names_a_column_that_no_migration_adds(tmp_path, monkeypatch, capsys):
    # As if a column were added to the first table in tables.py, and no revision written for it.
    name = next(iter(SERVICES))
    declared = kit.service(name).part("tables")
    extended = MetaData()
    for table in declared.tables.values():
        table.to_metadata(extended)
    first = next(iter(extended.tables.values()))
    first.append_column(Column("added_without_a_migration", String(20), nullable=True))
    monkeypatch.setattr(kit, "database", lambda name, settings: Database(settings.database_url, extended))
    monkeypatch.setenv("UNIONHUB_DATABASE_URL", f"sqlite:///{tmp_path}/{name}.db")

    assert cli.main(["db", "check", name]) == 1

    out = capsys.readouterr().out
    assert "add_column" in out and f"'{first.name}'" in out and "added_without_a_migration" in out
    assert f"unionhub db revision {name}" in out


# --- helpers ------------------------------------------------------------------------------------


def _compare(settings):
    return migrations.compare(settings.service, settings)


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
    """A database as enrolment's create_all left it, with some rows.

    That schema is the baseline's (later revisions add tables, e.g. disputes): upgraded to the
    baseline, with no trace of Alembic left.
    """
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
        if "units" in tables:  # enrolment's own tables
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
