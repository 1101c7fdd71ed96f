"""Card serials: a table row per province on SQLite, one sequence on PostgreSQL (revision 7523ba8c0d42).

On PostgreSQL the point of the sequence is that a join holding a serial in an open transaction
makes no other join wait; the tests there check that, that serials stay distinct under concurrent
joins, that the sequence starts after every serial the table handed out, and that a downgrade hands
the count back to the table.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from services.common import kit, migrations
from services.enrolment import repository
from services.enrolment import tables as et
from services.enrolment.card_number import format_card_number
from tests.support import fresh_postgres_database, migrate

SEQUENCE_REVISION = "7523ba8c0d42"
BEFORE = "e2ad4158e54f"
NOW = datetime(2026, 11, 29, 8, 30, tzinfo=UTC)


def _database(url: str):
    settings = kit.load_settings("enrolment", env={"DATABASE_URL": url})
    return settings, kit.database("enrolment", settings)


def _serial(engine, province: str = "52") -> int:
    with engine.begin() as conn:
        return repository.next_card_serial(conn, province)


def test_sqlite_counts_each_province_in_the_table(tmp_path):
    settings, database = _database(f"sqlite:///{tmp_path}/enrolment.db")
    try:
        migrations.upgrade("enrolment", settings)
        assert [_serial(database.engine, "52") for _ in range(3)] == [1, 2, 3]
        assert _serial(database.engine, "11") == 1
        with database.engine.connect() as conn:
            rows = conn.execute(et.card_serials.select().order_by(et.card_serials.c.province)).all()
        assert [tuple(r) for r in rows] == [("11", 1), ("52", 3)]
    finally:
        database.engine.dispose()


@pytest.fixture
def postgres():
    with fresh_postgres_database("serials") as url:
        settings, database = _database(url)
        try:
            yield settings, database
        finally:
            database.engine.dispose()


@pytest.mark.integration
def test_the_sequence_starts_after_every_serial_the_table_handed_out(postgres):
    settings, database = postgres
    migrate("enrolment", database, BEFORE)
    with database.engine.begin() as conn:
        conn.execute(
            et.card_serials.insert(),
            [{"province": "52", "last_serial": 41}, {"province": "11", "last_serial": 7}],
        )

    migrate("enrolment", database, "head")

    assert [_serial(database.engine) for _ in range(2)] == [42, 43]


@pytest.mark.integration
def test_an_empty_table_starts_the_sequence_at_one(postgres):
    settings, database = postgres
    migrations.upgrade("enrolment", settings)
    assert _serial(database.engine) == 1


@pytest.mark.integration
def test_a_serial_held_by_an_open_join_makes_no_other_join_wait_and_is_not_handed_out_again(postgres):
    settings, database = postgres
    migrations.upgrade("enrolment", settings)
    with database.engine.connect() as holder:
        holder.begin()
        held = repository.next_card_serial(holder, "52")
        with database.engine.begin() as other:
            other.execute(text("SET LOCAL lock_timeout = '500ms'"))  # a row lock would fail here
            assert repository.next_card_serial(other, "52") == held + 1
        holder.rollback()
    assert _serial(database.engine) == held + 2  # a gap where the rolled-back join was, no reuse


@pytest.mark.integration
def test_concurrent_joins_get_distinct_consecutive_serials(postgres):
    settings, database = postgres
    migrations.upgrade("enrolment", settings)
    n = 16
    barrier = threading.Barrier(n)

    def join(_):
        barrier.wait(timeout=10)
        with database.engine.begin() as conn:
            return repository.next_card_serial(conn, "52")

    with ThreadPoolExecutor(n) as pool:
        serials = list(pool.map(join, range(n)))

    assert sorted(serials) == list(range(1, n + 1))


@pytest.mark.integration
def test_a_downgrade_hands_the_count_back_to_the_table(postgres):
    settings, database = postgres
    migrations.upgrade("enrolment", settings)
    serials = [_serial(database.engine) for _ in range(5)]
    with database.engine.begin() as conn:
        conn.execute(
            et.units.insert(),
            {
                "id": "u-1",
                "name": "分会",
                "kind": "branch",
                "path": "/u-1/",
                "requires_approval": False,
                "created_at": NOW,
            },
        )
        conn.execute(
            et.members.insert(),
            [
                {
                    "id": f"m-{serial}",
                    "unit_id": "u-1",
                    "card_no": format_card_number("52", serial),
                    "status": "active",
                    "employer": "",
                    "occupation": "",
                    "consent_version": "v1",
                    "consented_at": NOW,
                    "joined_at": NOW,
                    "updated_at": NOW,
                }
                for serial in serials[:4]  # the fifth join rolled back
            ],
        )

    migrate("enrolment", database, BEFORE, down=True)

    # The release before counts on from the last card issued: 5 again, as nothing holds it.
    with database.engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(et.card_serials.select())] == [("52", 4)]
        assert conn.execute(text("SELECT to_regclass('card_serial_seq')")).scalar() is None
