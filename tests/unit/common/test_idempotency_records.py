"""Idempotency records: keyed fingerprints, expiry, pruning and forgetting (issue 8, item 4)."""

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, create_engine, func, select, update

from services.common import idempotency
from services.common.domain import Conflict
from services.common.idempotency import IdempotentRequest, add_idempotency_table

SECRET = b"s" * 32
BODY = {"name": "张三", "mobile": "13812345678", "id_number": "520102199003070011"}


@pytest.fixture
def table():
    return add_idempotency_table(MetaData())


@pytest.fixture
def conn(table):
    engine = create_engine("sqlite://")
    table.metadata.create_all(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _request(table, key="key-1", body=BODY, scope="join:o-1", secret=SECRET):
    return IdempotentRequest.of(table, scope, key, body, secret=secret)


def _count(conn, table) -> int:
    return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _age(conn, table, by: timedelta) -> None:
    conn.execute(update(table).values(created_at=datetime.now(UTC) - by))


def test_the_stored_fingerprint_cannot_confirm_a_guess_of_the_body(conn, table):
    _request(table).remember(conn, 201, {"member_id": "m-1"})

    stored = conn.execute(select(table.c.request_hash)).scalar_one()

    plain = hashlib.sha256(json.dumps(BODY, sort_keys=True, default=str).encode()).hexdigest()
    assert stored != plain
    assert stored != idempotency.request_hash(BODY, b"another service's secret")
    assert stored == idempotency.request_hash(BODY, SECRET)


def test_a_retry_gets_the_first_answer_and_a_changed_body_is_refused(conn, table):
    _request(table).remember(conn, 201, {"member_id": "m-1"})

    assert _request(table).answered(conn) == (201, {"member_id": "m-1"})
    with pytest.raises(Conflict) as refused:
        _request(table, body={**BODY, "name": "李四"}).answered(conn)
    assert refused.value.code == "idempotency_key_reused"


def test_a_replay_after_the_record_expired_is_a_new_request(conn, table):
    _request(table).remember(conn, 201, {"member_id": "m-1"})
    _age(conn, table, idempotency.TTL + timedelta(minutes=1))

    assert _request(table).answered(conn) is None
    assert _request(table, body={"other": "body"}).answered(conn) is None  # nor a reuse
    _request(table).remember(conn, 201, {"member_id": "m-2"})  # replaces the expired record
    assert _request(table).answered(conn) == (201, {"member_id": "m-2"})
    assert _count(conn, table) == 1


def test_remembering_over_a_live_record_is_a_twin_and_keeps_the_first_answer(conn, table):
    _request(table).remember(conn, 201, {"member_id": "m-1"})

    with pytest.raises(idempotency.KeyTaken):
        _request(table).remember(conn, 201, {"member_id": "m-2"})

    assert _request(table).answered(conn) == (201, {"member_id": "m-1"})


def test_a_record_within_its_lifetime_still_answers(conn, table):
    _request(table).remember(conn, 201, {"member_id": "m-1"})
    _age(conn, table, idempotency.TTL - timedelta(minutes=1))

    assert _request(table).answered(conn) == (201, {"member_id": "m-1"})


def test_prune_deletes_only_records_older_than_the_cut(conn, table):
    _request(table, key="old").remember(conn, 201, {})
    _age(conn, table, timedelta(days=2))
    _request(table, key="new").remember(conn, 201, {})

    assert idempotency.prune(conn, table, datetime.now(UTC) - idempotency.TTL) == 1
    assert conn.execute(select(table.c.key)).scalars().all() == ["new"]


def test_forget_deletes_every_record_of_a_persons_scope(conn, table):
    for key in ("k1", "k2"):
        _request(table, key=key, scope="join:o-erased").remember(conn, 201, {"member_id": "m-1"})
    _request(table, key="k1", scope="join:o-other").remember(conn, 201, {"member_id": "m-2"})

    assert idempotency.forget(conn, table, "join:o-erased") == 2
    assert _request(table, key="k1", scope="join:o-erased").answered(conn) is None
    assert conn.execute(select(table.c.scope)).scalars().all() == ["join:o-other"]


def test_without_a_key_nothing_is_stored_or_answered(conn, table):
    request = _request(table, key=None)
    request.remember(conn, 201, {})

    assert request.answered(conn) is None and _count(conn, table) == 0
