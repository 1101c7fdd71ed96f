"""``sql.fetch``, the hot statements' way to PostgreSQL past SQLAlchemy's execution context: the
same rows as ``conn.execute``, SQLAlchemy's conversions where a statement needs them, its exceptions
for driver errors, and the engine's cursor listeners still called. SQLite takes ``conn.execute``."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    exc,
    func,
    select,
    text,
)

from services.common import sql
from services.common.clock import utc
from services.common.db import Database
from tests.support import fresh_postgres_database, round_trips

pytestmark = pytest.mark.integration  # tests/conftest.py skips (or fails) when PostgreSQL is absent

metadata = MetaData()
notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("tags", JSON, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("ref", String(36), nullable=False, default=lambda: str(uuid.uuid4())),  # computed in Python
)
BY_CODE = select(notes).where(notes.c.code == bindparam("code"))
ADD = notes.insert().values(code=bindparam("code"), at=bindparam("at"), ref="r").returning(notes.c.id)
AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def _database(url: str) -> Database:
    database = Database(url, metadata, source="/unionhub/test")
    database.create_all()
    return database


@pytest.fixture
def postgres_db():
    with fresh_postgres_database("fetch") as url:
        database = _database(url)
        yield database
        database.engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request, tmp_path):
    if request.param == "postgresql":
        yield request.getfixturevalue("postgres_db")
        return
    database = _database(f"sqlite:///{tmp_path}/fetch.db")
    yield database
    database.engine.dispose()


def test_rows_are_those_conn_execute_gives_json_and_times_included(db):
    with db.unit_of_work() as uow:
        uow.connection.execute(notes.insert(), {"code": "a", "tags": ["water", "ac"], "at": AT})
        fetched = sql.fetch(uow.connection, BY_CODE, {"code": "a"})
        executed = uow.connection.execute(BY_CODE, {"code": "a"}).all()
        none = sql.fetch(uow.connection, BY_CODE, {"code": "nobody"})
    assert [tuple(r) for r in fetched] == [tuple(r) for r in executed]
    (row,) = fetched
    assert (row.code, row.tags, utc(row.at)) == ("a", ["water", "ac"], AT)
    assert none == []


def test_a_write_returns_its_rows_and_commits_with_the_unit_of_work(db):
    with db.unit_of_work() as uow:
        (added,) = sql.fetch(uow.connection, ADD, {"code": "b", "at": AT})
        uow.commit()
    with db.engine.connect() as conn:
        assert conn.execute(select(notes.c.id, notes.c.ref).where(notes.c.code == "b")).one() == (
            added.id,
            "r",
        )


def test_on_a_connection_with_no_transaction_yet_commit_commits_it_as_after_execute(db):
    with db.engine.connect() as conn:
        sql.fetch(conn, ADD, {"code": "g", "at": AT})
        conn.commit()
    with db.engine.connect() as conn:
        assert conn.execute(select(notes.c.code).where(notes.c.code == "g")).scalar() == "g"


def test_with_commit_the_statement_commits_its_transaction_and_releases_its_locks(db):
    with db.unit_of_work() as uow:
        sql.fetch(uow.connection, ADD, {"code": "h", "at": AT})
        uow.commit()
    touch = notes.update().where(notes.c.code == bindparam("old")).values(code=bindparam("new"))
    with db.unit_of_work() as uow:
        sql.fetch(uow.connection, ADD, {"code": "i", "at": AT})  # earlier in the same transaction
        assert sql.fetch(uow.connection, touch.returning(notes.c.code), {"old": "h", "new": "j"}, commit=True)
        assert not uow.connection.in_transaction()
        with db.engine.connect() as other:  # seen and writable elsewhere before the unit of work ends
            if db.engine.dialect.name == "postgresql":
                other.execute(text("SET lock_timeout = '1s'"))
            other.execute(touch, {"old": "j", "new": "k"})
            other.commit()
    with db.engine.connect() as conn:
        assert conn.execute(select(notes.c.code).order_by(notes.c.code)).scalars().all() == ["i", "k"]


def test_statements_in_turn_each_give_their_rows_and_see_the_ones_before(db):
    with db.unit_of_work() as uow:
        added, found, none = sql.fetch_in_turn(
            uow.connection,
            [(ADD, {"code": "p", "at": AT}), (BY_CODE, {"code": "p"}), (BY_CODE, {"code": "nobody"})],
        )
        uow.commit()
    assert [r.code for r in found] == ["p"] and found[0].id == added[0].id
    assert none == []


def test_a_statement_prepared_on_a_connection_outlives_its_rollbacks(postgres_db):
    # sql.fetch prepares a statement once per connection. psycopg, once it had prepared one of
    # its own (SQLAlchemy's, at its fifth run), answered the next ROLLBACK with DEALLOCATE ALL, and
    # sql.fetch's next run there failed: "prepared statement does not exist".
    with postgres_db.engine.connect() as conn:
        sql.fetch(conn, BY_CODE, {"code": "a"})
        conn.rollback()
        for _ in range(6):
            conn.execute(BY_CODE, {"code": "a"})
        conn.rollback()
        assert sql.fetch(conn, BY_CODE, {"code": "a"}) == []


def test_statements_in_turn_and_a_statement_with_its_commit_each_take_one_round_trip(postgres_db, tmp_path):
    db = postgres_db
    with round_trips(db.engine, tmp_path) as alone, db.unit_of_work() as uow:
        sql.fetch(uow.connection, BY_CODE, {"code": "t"})
    with round_trips(db.engine, tmp_path) as in_turn, db.unit_of_work() as uow:
        sql.fetch_in_turn(uow.connection, [(ADD, {"code": "t", "at": AT}), (BY_CODE, {"code": "t"})])
    with round_trips(db.engine, tmp_path) as committed, db.unit_of_work() as uow:
        sql.fetch(uow.connection, BY_CODE, {"code": "t"}, commit=True)
    with round_trips(db.engine, tmp_path) as later, db.unit_of_work() as uow:
        uow.connection.execute(BY_CODE, {"code": "t"})
        sql.fetch(uow.connection, BY_CODE, {"code": "t"})
    with round_trips(db.engine, tmp_path) as idle, db.unit_of_work():
        pass
    assert alone.count == 2  # BEGIN with the statement, ROLLBACK
    assert in_turn.count == 2  # BEGIN with both statements, ROLLBACK
    assert committed.count == 1  # BEGIN, the statement, COMMIT
    assert later.count == 4  # BEGIN, SQLAlchemy's statement, the second statement, ROLLBACK
    assert idle.count == 0  # nothing sent, nothing to end


@pytest.mark.parametrize("first", ["sql.fetch", "conn.execute"])
def test_a_write_transaction_begins_with_its_first_statement_however_that_is_sent(postgres_db, first):
    # The connections run in autocommit mode, the BEGIN is ours: were it missing, each statement
    # would be a transaction of its own, with its own ID, and the write would stay after rollback.
    db = postgres_db
    xid = select(func.txid_current())
    with db.unit_of_work() as uow:
        if first == "sql.fetch":
            began = sql.fetch(uow.connection, xid, {})[0][0]
        else:
            began = uow.connection.execute(xid).scalar()
        sql.fetch(uow.connection, ADD, {"code": "u", "at": AT})
        assert uow.connection.execute(xid).scalar() == began
    with db.engine.connect() as conn:
        assert conn.execute(select(notes.c.code).where(notes.c.code == "u")).first() is None


def test_a_statement_in_turn_after_a_lock_sees_what_the_locks_holder_committed(postgres_db):
    # What a booking relies on: the member's row locked, then the checks, in one round trip; the
    # checks must see the booking that the member's other request committed while this one waited.
    db = postgres_db
    with db.unit_of_work() as uow:
        sql.fetch(uow.connection, ADD, {"code": "lock", "at": AT})
        uow.commit()
    lock = BY_CODE.with_for_update()
    count = select(func.count()).select_from(notes)
    with db.unit_of_work() as holder:
        sql.fetch(holder.connection, lock, {"code": "lock"})
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(_in_turn, db, [(lock, {"code": "lock"}), (count, {})])
            time.sleep(0.3)  # the other transaction is now queued on the lock
            assert not waiting.done()
            sql.fetch(holder.connection, ADD, {"code": "q", "at": AT})
            holder.commit()
            _, counted = waiting.result(timeout=10)
    assert counted[0][0] == 2


def _in_turn(db, statements):
    with db.unit_of_work() as uow:
        return sql.fetch_in_turn(uow.connection, statements)


def test_statements_in_turn_that_fail_leave_nothing_and_the_connection_serves_on(db):
    with db.unit_of_work() as uow:
        sql.fetch(uow.connection, ADD, {"code": "r", "at": AT})
        uow.commit()
    with pytest.raises(exc.IntegrityError), db.unit_of_work() as uow:
        sql.fetch_in_turn(uow.connection, [(ADD, {"code": "s", "at": AT}), (ADD, {"code": "r", "at": AT})])
    for _ in range(db.engine.pool.size() + 1):
        with db.unit_of_work() as uow:
            assert [r.code for r in sql.fetch(uow.connection, BY_CODE, {"code": "s"})] == []


def test_what_sqlalchemy_converts_or_renders_per_call_still_is(db):
    # A JSON parameter, a default computed in Python, an IN list: conn.execute's way, so all right.
    with db.unit_of_work() as uow:
        sql.fetch(uow.connection, notes.insert(), {"code": "c", "tags": {"k": [1]}, "at": AT})
        row = uow.connection.execute(select(notes).where(notes.c.code == "c")).one()
        among = select(notes.c.code).where(notes.c.code.in_(["c", "x"]))
        assert [r.code for r in sql.fetch(uow.connection, among, {})] == ["c"]
    assert row.tags == {"k": [1]}
    assert uuid.UUID(row.ref)


@pytest.mark.parametrize("commit", [False, True], ids=["alone", "with its commit"])
def test_a_driver_error_is_sqlalchemys_and_nothing_of_the_transaction_stays(db, commit):
    with db.unit_of_work() as uow:
        sql.fetch(uow.connection, ADD, {"code": "d", "at": AT})
        uow.commit()
    with pytest.raises(exc.IntegrityError), db.unit_of_work() as uow:
        sql.fetch(uow.connection, ADD, {"code": "e", "at": AT})
        sql.fetch(uow.connection, ADD, {"code": "d", "at": AT}, commit=commit)
    for _ in range(db.engine.pool.size() + 1):  # whichever pooled connection comes next serves on
        with db.unit_of_work() as uow:
            assert [r.code for r in sql.fetch(uow.connection, BY_CODE, {"code": "d"})] == ["d"]
    with db.engine.connect() as conn:
        assert conn.execute(select(notes.c.code).order_by(notes.c.code)).scalars().all() == ["d"]


@pytest.mark.parametrize("path", ["sql.fetch", "conn.execute"])
def test_a_failing_statements_error_carries_no_values_into_the_logs(db, path):
    # Its text is what a 503's log line holds (here a primary demoted to read-only): a join's or a
    # child's details must not be in it.
    read_only, writable = (
        ("SET TRANSACTION READ ONLY", None)
        if db.engine.dialect.name == "postgresql"
        else ("PRAGMA query_only = 1", "PRAGMA query_only = 0")
    )
    with pytest.raises(exc.DBAPIError) as failed, db.unit_of_work() as uow:
        uow.connection.exec_driver_sql(read_only)
        try:
            if path == "sql.fetch":
                sql.fetch(uow.connection, ADD, {"code": "王小明 2018-05-06", "at": AT})
            else:
                uow.connection.execute(ADD, {"code": "王小明 2018-05-06", "at": AT})
        finally:
            if writable:  # a pragma outlives the transaction on the pooled connection
                uow.connection.exec_driver_sql(writable)

    assert "王小明" not in str(failed.value) and "parameters hidden" in str(failed.value)


def test_the_engines_cursor_listeners_see_it_and_a_read_only_unit_of_work_refuses_its_write(db):
    seen = []
    listener = lambda _conn, _cursor, statement, *_rest: seen.append(statement)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        with db.unit_of_work() as uow:
            sql.fetch(uow.connection, BY_CODE, {"code": "a"})
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert [s for s in seen if "notes" in s] == [BY_CODE.compile(db.engine).string]

    with pytest.raises(exc.SQLAlchemyError), db.unit_of_work().read_only() as uow:
        sql.fetch(uow.connection, ADD, {"code": "f", "at": AT})
    with db.engine.connect() as conn:
        assert conn.execute(select(notes.c.code).where(notes.c.code == "f")).first() is None


def test_a_connection_lost_is_a_dependency_down_and_leaves_the_pool(postgres_db):
    db = postgres_db
    with db.unit_of_work() as uow:
        pid = uow.connection.execute(text("SELECT pg_backend_pid()")).scalar()
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        # OperationalError is what the error handlers answer 503 for.
        with pytest.raises(exc.OperationalError) as raised:
            sql.fetch(uow.connection, BY_CODE, {"code": "a"})
    assert raised.value.connection_invalidated
    with db.unit_of_work() as uow:  # a fresh connection from the pool
        assert sql.fetch(uow.connection, BY_CODE, {"code": "a"}) == []
