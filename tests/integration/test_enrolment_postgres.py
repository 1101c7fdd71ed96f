"""Enrolment's staff logins on PostgreSQL, where two transactions can overlap (SQLite's single writer
never lets them): the unique index on the username decides a race, and the loser hears why."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from services.common.db import Database
from services.common.domain import Conflict
from services.common.idempotency import IdempotentRequest
from services.enrolment import accounts, repository, service, tables
from tests.support import fresh_postgres_database

pytestmark = pytest.mark.integration  # tests/conftest.py skips (or fails) when PostgreSQL is absent


@pytest.fixture
def database():
    with fresh_postgres_database("enrolment_test") as url:
        db = Database(url, tables.metadata)
        db.create_all()
        yield db
        db.engine.dispose()


def test_a_username_taken_by_a_concurrent_login_is_a_409_not_a_500(database):
    with database.unit_of_work() as uow:
        root = service.ensure_root(uow.connection, "总工会")
        uow.commit()
    unkeyed = IdempotentRequest.of(
        tables.idempotency_keys, "staff:a:create-staff", None, {}, secret=b"s" * 32
    )
    with database.engine.connect() as creating:
        # Another admin's login of the same name, inserted and not yet committed when ours checks.
        repository.add_staff(
            creating, id=str(uuid.uuid4()), username="till-1", password_hash="x", roles=["till"],
            unit_id=root.id, merchant_id=None, store_ids=[], station_ids=[], disabled=False,
            created_by="staff:b", created_at=datetime.now(UTC),
        )  # fmt: skip
        with ThreadPoolExecutor(1) as pool:
            ours = pool.submit(
                accounts.create_staff,
                database.unit_of_work(),
                [root.id],
                unkeyed,
                actor="staff:a",
                username="till-1",
                password="pw-12345678",
                roles=["till"],
                unit_id=root.id,
            )
            time.sleep(0.3)  # ours passed the check and waits on the username's unique index
            creating.commit()
            with pytest.raises(Conflict) as refused:
                ours.result(timeout=10)

    assert refused.value.code == "staff.username_taken"
    with database.engine.connect() as conn:
        count = select(func.count()).select_from(tables.staff).where(tables.staff.c.username == "till-1")
        assert conn.execute(count).scalar_one() == 1
