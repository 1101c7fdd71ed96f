"""SQL helpers every service's repository needs, for both PostgreSQL and the SQLite quick start."""

from __future__ import annotations

import functools

from psycopg.pq import ExecStatus
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, Table, exc, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement

# An execution option for a connection before its first statement: the transaction only reads
# (UnitOfWork.read_only). Each engine (sqlite.py, postgres.py) makes that cheaper its own way.
READ_ONLY = "unionhub_read_only"

# Marks a PostgreSQL connection (its pool record's info) whose transaction has begun for SQLAlchemy
# but not yet on the server: BEGIN goes just before its next statement (postgres.py).
BEGIN_PENDING = "unionhub_begin_pending"


def insert_on_conflict(conn: Connection, table: Table):
    """An INSERT that can say ON CONFLICT, in the dialect of ``conn`` (PostgreSQL or SQLite)."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def add_unless_there(conn: Connection, table: Table, row: dict, conflict: list | None = None) -> bool:
    """INSERT ``row`` unless it conflicts with one there already (on ``conflict``'s columns, or any
    unique index); whether it was added. Told by the row RETURNING gives back, not by rowcount,
    which is the rows inserted on SQLite and -1 on PostgreSQL (SQLAlchemy adds RETURNING there and
    psycopg then reports none)."""
    key = next(iter(table.primary_key.columns))
    statement = insert_on_conflict(conn, table).values(**row).on_conflict_do_nothing(index_elements=conflict)
    return conn.execute(statement.returning(key)).first() is not None


def xact_lock(conn: Connection, key: int) -> None:
    """Serialise transactions that take the same ``key`` until this one ends.

    PostgreSQL: an advisory transaction lock. SQLite needs none: every write transaction there
    begins IMMEDIATE and so holds the database's one write lock already.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def fetch(conn: Connection, statement: ClauseElement, parameters: dict, *, commit: bool = False) -> list:
    """Run ``statement`` in ``conn``'s transaction and return all its rows (named tuples).

    On PostgreSQL it goes to psycopg's cursor without SQLAlchemy's execution context and result
    objects: about 40 µs of CPU less a statement, a tenth of a booking's Python (docs/benchmarks.md,
    "Course booking burst"). It is compiled once per set of parameter names. One whose parameters
    or columns SQLAlchemy would convert or render per call (a JSON parameter, a column default
    computed in Python, an IN list) goes through ``conn.execute`` as before, as everything does on
    SQLite. The engine's cursor listeners see it, and a driver error is raised as SQLAlchemy's, as
    ``conn.execute`` would raise it: a lost connection an OperationalError (503), and out of the pool.

    ``commit``: the statement is the transaction's last; COMMIT follows it. On PostgreSQL both go in
    one round trip (a psycopg pipeline), so the row locks the statement takes are not also held
    while its result comes back to us and we wait for a CPU and the GIL to send COMMIT. On a hot row
    that everybody queues for (a course's seats) that wait was what throughput was bound by
    (docs/benchmarks.md, "Course booking burst"). psycopg sends each statement of a pipeline as it
    is queued, though: under a burst, one COMMIT in eight still left more than 0.5 ms after its
    statement, the thread having lost the GIL or its CPU in between.
    """
    return fetch_in_turn(conn, [(statement, parameters)], commit=commit)[0]


def fetch_in_turn(
    conn: Connection, statements: list[tuple[ClauseElement, dict]], *, commit: bool = False
) -> list[list]:
    """``fetch`` for several statements, run one after the other; each one's rows. On PostgreSQL
    they go in one round trip (a psycopg pipeline), with the transaction's BEGIN first when they are
    its first statements. The server still runs them in turn, each with its own snapshot: one after
    a row lock sees what the lock's holder committed, as it would sent on its own."""
    forms = None
    if conn.dialect.name == "postgresql":
        forms = [_driver_form(s, conn.dialect, tuple(sorted(p))) for s, p in statements]
    if forms is None or None in forms:
        rows = []
        for statement, parameters in statements:
            result = conn.execute(statement, parameters)
            rows.append(result.all() if result.returns_rows else [])
        if commit:
            conn.commit()
        return rows
    if not conn.in_transaction():
        conn.begin()  # as conn.execute would (autobegin), so the caller's commit() commits it
    driver = conn.connection.driver_connection
    sent = []  # (sql, values, cursor)
    try:
        if len(statements) == 1 and not commit and not conn.connection.info.get(BEGIN_PENDING):
            _send(conn, driver, forms[0], statements[0][1], sent)
        else:
            with driver.pipeline():
                for form, (_, parameters) in zip(forms, statements, strict=True):
                    _send(conn, driver, form, parameters, sent)
                if commit:
                    # As a statement of the pipeline: driver.commit() there waits for its own
                    # round trip, and the pipeline's end for another.
                    ending = driver.cursor()
                    sent.append(("COMMIT", None, ending))
                    ending.execute("COMMIT", prepare=False)
        # Not cursor.description, which builds a Column for each column (3 % of a join's CPU).
        rows = [
            cursor.fetchall()
            if (r := cursor.pgresult) is not None and r.status == ExecStatus.TUPLES_OK
            else []
            for _, _, cursor in sent[: len(statements)]
        ]
    except conn.dialect.loaded_dbapi.Error as error:
        sql, values, cursor = sent[-1] if sent else (None, None, None)
        lost = conn.dialect.is_disconnect(error, driver, cursor)
        if lost:
            conn.invalidate(error)
        raise exc.DBAPIError.instance(
            sql,
            values,
            error,
            conn.dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=conn.dialect,
        ) from error
    finally:
        for _, _, cursor in sent:
            cursor.close()
    if commit:
        conn.commit()  # SQLAlchemy's transaction ends too; psycopg has nothing left to send
    return rows


def write_in_turn(conn: Connection, steps: list[tuple[ClauseElement, dict, Exception | None]]) -> None:
    """Writes sent in one round trip (``fetch_in_turn``), each with the exception that refuses the
    use case when it writes nothing (returns no row), or None. The first such refusal is raised; the
    caller's transaction then rolls back, with everything sent."""
    written = fetch_in_turn(conn, [(statement, parameters) for statement, parameters, _ in steps])
    for (_, _, refusal), rows in zip(steps, written, strict=True):
        if refusal is not None and not rows:
            raise refusal


def _send(conn: Connection, driver, form: tuple[str, object], parameters: dict, sent: list) -> None:
    """Send one statement on a cursor of its own, noted in ``sent`` first so it is closed whatever
    happens and a driver error names it."""
    sql, compiled = form
    values = compiled.construct_params(parameters)
    cursor = driver.cursor(row_factory=namedtuple_row)
    for listener in conn.dispatch.before_cursor_execute:
        sql, values = listener(conn, cursor, sql, values, None, False)
    sent.append((sql, values, cursor))
    cursor.execute(sql, values)


# Bounded: a statement built per call (which should not come here) would otherwise fill it.
@functools.lru_cache(maxsize=1024)
def _driver_form(
    statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...]
) -> tuple[str, object] | None:
    # As conn.execute compiles it: an INSERT or UPDATE names the columns it is given values for.
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    converts = (
        compiled._bind_processors
        or compiled.insert_prefetch
        or compiled.post_compile_params  # an IN list, rendered per call
        or compiled.update_prefetch
        or any(column.type._cached_result_processor(dialect, None) for column in compiled._result_columns)
    )
    return None if converts else (compiled.string, compiled)
