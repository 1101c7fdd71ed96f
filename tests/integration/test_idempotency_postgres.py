"""The stored answer of an Idempotency-Key on PostgreSQL: a live twin is refused, an expired record is
replaced (on SQLite the same is checked in tests/unit/common/test_idempotency_records.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, create_engine, func, select, update

from services.common import idempotency
from services.common.idempotency import IdempotentRequest, add_idempotency_table
from tests.support import fresh_postgres_database

pytestmark = pytest.mark.integration  # tests/conftest.py skips (or fails) when PostgreSQL is absent


@pytest.fixture
def rig():
    table = add_idempotency_table(MetaData())
    with fresh_postgres_database("idempotency_test") as url:
        engine = create_engine(url)
        table.metadata.create_all(engine)
        yield engine, table
        engine.dispose()


def _request(table, body=None):
    return IdempotentRequest.of(table, "book:m-1", "key-1", body or {"a": 1}, secret=b"s" * 32)


def test_a_live_twin_is_refused_and_the_first_answer_stays(rig):
    engine, table = rig
    with engine.begin() as conn:
        _request(table).remember(conn, 201, {"id": "first"})

    with engine.begin() as conn, pytest.raises(idempotency.KeyTaken):
        _request(table).remember(conn, 201, {"id": "second"})

    with engine.connect() as conn:
        assert _request(table).answered(conn) == (201, {"id": "first"})


def test_an_expired_record_is_replaced_in_place(rig):
    engine, table = rig
    with engine.begin() as conn:
        _request(table).remember(conn, 201, {"id": "old"})
        conn.execute(
            update(table).values(created_at=datetime.now(UTC) - idempotency.TTL - timedelta(minutes=1))
        )

    with engine.begin() as conn:
        _request(table).remember(conn, 201, {"id": "new"})

    with engine.connect() as conn:
        assert _request(table).answered(conn) == (201, {"id": "new"})
        assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 1
