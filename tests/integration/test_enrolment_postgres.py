"""Enrolment on PostgreSQL, where two transactions can overlap (SQLite's single writer never lets
them): the unique index on the username decides a race of staff logins, and the loser hears why; a
PII key rotation running beside an erasure or a dispute's decision leaves what that wrote."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from services.common.db import Database
from services.common.domain import Conflict
from services.common.idempotency import IdempotentRequest
from services.enrolment import accounts, membership, model, pii, repository, service, tables
from services.enrolment.pii import KeyRing
from tests.support import fresh_postgres_database
from tests.unit.enrolment.test_pii_rotation import NEW, OLD, add_member, add_open_dispute

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


# --- rotating the PII key beside other writers ------------------------------------------------------

OLD_RING = KeyRing.from_string(f"k1:{OLD}")
ROTATED = service.PiiKeys(KeyRing.from_string(f"k2:{NEW},k1:{OLD}"), b"h" * 32)


@pytest.fixture
def root(database):
    with database.unit_of_work() as uow:
        root = service.ensure_root(uow.connection, "总工会")
        uow.commit()
    return root


def _rotate_while(database, write) -> int:
    """Run one batch of the rotation while ``write``, made on a connection of its own, is not yet
    committed; commit it once the rotation waits for that row. What the batch changed."""
    with database.engine.connect() as writing:
        write(writing)
        with ThreadPoolExecutor(1) as pool:
            rotation = pool.submit(membership.reencrypt_personal_data, database.unit_of_work(), ROTATED)
            _until_a_session_waits_for_a_lock(database)
            writing.commit()
            return rotation.result(timeout=10)


def _until_a_session_waits_for_a_lock(database) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    with database.engine.connect() as conn:
        for _ in range(100):
            if conn.execute(waiting).scalar_one():
                return
            conn.rollback()  # a fresh snapshot of the activity for the next look
            time.sleep(0.05)
    pytest.fail("the rotation never waited for the row being written")


def _member(database, member_id: str):
    with database.engine.connect() as conn:
        return repository.member_row(conn, member_id)


def test_a_rotation_does_not_bring_back_personal_data_erased_meanwhile(database, root):
    with database.unit_of_work() as uow:
        add_member(uow.connection, "m1", OLD_RING, root.id)
        uow.commit()

    def erase(conn):
        member = repository.member(conn, "m1", for_update=True)
        model.leave(member, erased=True)
        repository.erase_member(conn, member, datetime.now(UTC))

    changed = _rotate_while(database, erase)

    row = _member(database, "m1")
    assert (row.erased_at is not None, row.mobile_enc, row.id_number_enc) == (True, None, None)
    assert changed == 0  # nothing was left to re-encrypt


def test_a_rotation_keeps_the_mobile_a_dispute_move_bound_meanwhile(database, root):
    with database.unit_of_work() as uow:
        add_member(uow.connection, "m1", OLD_RING, root.id)
        uow.commit()
    claimants_mobile = pii.encrypt(ROTATED.pii, "13955556789", associated_data=b"m1")

    changed = _rotate_while(
        database,
        lambda conn: repository.bind_member(
            conn, "m1", {"openid": "o-claimant", "mobile_enc": claimants_mobile}, datetime.now(UTC)
        ),
    )

    row = _member(database, "m1")
    new_only = KeyRing.from_string(f"k2:{NEW}")
    assert pii.decrypt(new_only, row.mobile_enc, associated_data=b"m1") == "13955556789"
    assert pii.decrypt(new_only, row.id_number_enc, associated_data=b"m1") == "52010219900307001X"
    assert changed == 1


def test_a_rotation_does_not_bring_back_a_claimants_mobile_a_decision_wiped_meanwhile(database, root):
    with database.unit_of_work() as uow:
        add_member(uow.connection, "m1", ROTATED.pii, root.id)
        add_open_dispute(uow.connection, "d-1", "m1", OLD_RING)
        uow.commit()
    kept = model.Dispute("d-1", "m1", model.KEPT, None)

    changed = _rotate_while(
        database, lambda conn: repository.close_dispute(conn, kept, actor="staff:a", at=datetime.now(UTC))
    )

    with database.engine.connect() as conn:
        row = repository.dispute_row(conn, "d-1")
    assert (row.status, row.claimant_mobile_enc) == ("kept", None)
    assert changed == 0
