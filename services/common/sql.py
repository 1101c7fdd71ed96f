"""SQL helpers every service's repository needs, for both PostgreSQL and the SQLite quick start."""

from __future__ import annotations

import collections
import functools
import itertools
import re
import weakref
from collections.abc import Sequence
from typing import NamedTuple

from psycopg import errors
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import ExecStatus
from psycopg.waiting import Ready, Wait
from sqlalchemy import Connection, Integer, Table, case, cast, exc, exists, literal_column, select, text
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

    On PostgreSQL it goes to libpq past SQLAlchemy's execution context and result objects (about
    40 µs of CPU less a statement, a tenth of a booking's Python: docs/benchmarks.md, "Course booking
    burst"), compiled once per set of parameter names. One whose parameters or columns SQLAlchemy
    would convert or render per call (a JSON parameter, a column default computed in Python, an IN
    list) goes through ``conn.execute`` as before, as everything does on SQLite. The engine's cursor
    listeners see it (with no cursor), and a driver error is raised as SQLAlchemy's, as
    ``conn.execute`` would raise it: a lost connection an OperationalError (503), and out of the pool.

    ``commit``: the statement is the transaction's last; COMMIT follows it, in the same send. On a
    hot row that everybody queues for (a course's seats) the row is then locked for the statement
    and the commit alone, not also while its result comes back to us and we wait for a CPU and the
    GIL to send COMMIT; that wait was what a booking burst was bound by.
    """
    return fetch_in_turn(conn, [(statement, parameters)], commit=commit)[0]


def fetch_in_turn(
    conn: Connection, statements: list[tuple[ClauseElement, dict]], *, commit: bool = False
) -> list[list]:
    """``fetch`` for several statements, run one after the other; each one's rows. On PostgreSQL
    they go in one send and one round trip (``_exchange``), with the transaction's BEGIN first when
    they are its first statements. The server still runs them in turn, each with its own snapshot:
    one after a row lock sees what the lock's holder committed, as it would sent on its own."""
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
    begin = conn.connection.info.pop(BEGIN_PENDING, False)  # sent here, not by postgres.py's listener
    queued = []  # (form, its values), in the order sent
    named = (None, None)  # the statement a driver error is reported with, and its values
    try:
        for form, (_, parameters) in zip(forms, statements, strict=True):
            values = form.compiled.construct_params(parameters)
            queued.append((form, values))
            named = (form.sql, values)
            for listener in conn.dispatch.before_cursor_execute:
                listener(conn, None, form.sql, values, None, False)
        results, failure = _exchange(driver, [(f, [v[n] for n in f.names]) for f, v in queued], begin, commit)
        if failure is not None:
            where, answer = failure
            named = (queued[where][0].sql, queued[where][1]) if isinstance(where, int) else (where, None)
            raise errors.error_from_result(answer, encoding=driver.info.encoding)
        loader = Transformer(driver)
        rows = [_rows(loader, result) if result.status == ExecStatus.TUPLES_OK else [] for result in results]
    except conn.dialect.loaded_dbapi.Error as error:
        lost = conn.dialect.is_disconnect(error, driver, None)
        if lost:
            conn.invalidate(error)
        raise exc.DBAPIError.instance(
            *named,
            error,
            conn.dialect.loaded_dbapi.Error,
            hide_parameters=True,  # as the engines are made (postgres.py): no personal data logged
            connection_invalidated=lost,
            dialect=conn.dialect,
        ) from error
    if commit:
        conn.commit()  # SQLAlchemy's transaction ends too; psycopg has nothing left to send
    return rows


def write_in_turn(
    conn: Connection,
    steps: list[tuple[ClauseElement, dict, Exception | None]],
    *,
    then: Sequence[tuple[ClauseElement, dict]] = (),
    commit: bool = False,
) -> None:
    """Writes sent in one round trip (``fetch_in_turn``), each with the exception that refuses the
    use case when it writes nothing (returns no row), or None; then ``then``'s statements, and
    COMMIT with ``commit``. The first refusal is raised; the caller's transaction then rolls back,
    with everything sent.

    With ``commit`` on PostgreSQL, all of it is one round trip and the refusals are decided in SQL:
    a step that writes nothing fails its statement (``_refusing``), so that nothing after it runs,
    COMMIT included, and its refusal is raised. A statement of ``then`` may fail in its own way."""
    if not (commit and conn.dialect.name == "postgresql"):
        written = fetch_in_turn(conn, [(statement, parameters) for statement, parameters, _ in steps])
        for (_, _, refusal), rows in zip(steps, written, strict=True):
            if refusal is not None and not rows:
                raise refusal
        if then or commit:
            fetch_in_turn(conn, list(then), commit=commit)
        return
    marked = [
        (statement if refusal is None else _refusing(statement, f"{_REFUSED} {n}"), parameters)
        for n, (statement, parameters, refusal) in enumerate(steps)
    ]
    try:
        fetch_in_turn(conn, [*marked, *then], commit=True)
    except exc.DataError as error:
        for n, (_, _, refusal) in enumerate(steps):
            if f'"{_REFUSED} {n}"' in str(error.orig):
                raise refusal from None
        raise


_REFUSED = "unionhub refused step"


@functools.lru_cache(maxsize=256)
def _refusing(statement: ClauseElement, mark: str):
    # A cast that fails when the write returned no row, as a budget short does (merchants'
    # repository/budgets.py): it depends on the write, so PostgreSQL cannot fold it in planning.
    written = statement.cte("written")
    refused = case((exists(written.select()), literal_column("'0'")), else_=literal_column(f"'{mark}'"))
    return select(cast(refused, Integer).label("refused"))


# --- PostgreSQL: statements in one send, on libpq's pipeline ---------------------------------------
# psycopg's own pipeline sends each statement as it is queued, waiting for the socket in between with
# the GIL released: under a burst one COMMIT in eight left more than 0.5 ms after its statement, with
# the hot row still locked (docs/benchmarks.md, "Course booking burst"). Here the statements, COMMIT
# and the Sync are queued in libpq and flushed once.


class _Form(NamedTuple):
    sql: str  # as SQLAlchemy renders it for psycopg (%(name)s), for listeners and errors
    compiled: object
    query: bytes  # with $1, $2… in place of the names, as the server takes it
    names: tuple[str, ...]  # the parameter of each $n


# Each statement is prepared on each connection the first time it runs there (protocol-level, as
# psycopg prepares its own: PgBouncer 1.21+ with max_prepared_statements keeps them in transaction
# mode, docs/capacity.md), under a name per text and parameter types, the types being part of it.
_NAMES: dict[tuple[bytes, tuple[int, ...]], bytes] = {}
_NUMBERS = itertools.count(1)
_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # psycopg connection: its names


def _exchange(driver, statements: list[tuple[_Form, list]], begin: bool, commit: bool):
    """Send ``statements`` (each a form and its values in $n order), with BEGIN before them and
    COMMIT after as asked, in one libpq pipeline flushed once. Each statement's result, and the
    first command that failed, if one did: (the statement's index, or "BEGIN", "PREPARE" or
    "COMMIT"; its error result). The commands after it were not run."""
    pgconn = driver.pgconn
    prepared = _PREPARED.setdefault(driver, set())
    transformer = Transformer(driver)
    expected = []  # what each command sent is: a statement's index, a name prepared, BEGIN or COMMIT
    pgconn.enter_pipeline_mode()
    try:
        if begin:
            pgconn.send_query_params(b"BEGIN", None)
            expected.append("BEGIN")
        for index, (form, values) in enumerate(statements):
            params = transformer.dump_sequence(values, [PyFormat.AUTO] * len(values))
            key = (form.query, transformer.types)
            name = _NAMES.get(key) or _NAMES.setdefault(key, b"unionhub_%d" % next(_NUMBERS))
            if name not in prepared and name not in expected:  # a statement sent twice is prepared once
                pgconn.send_prepare(name, form.query, param_types=transformer.types)
                expected.append(name)
            pgconn.send_query_prepared(name, params, param_formats=transformer.formats)
            expected.append(index)
        if commit:
            pgconn.send_query_params(b"COMMIT", None)
            expected.append("COMMIT")
        pgconn.pipeline_sync()
        answers = driver.wait(_flush_and_read(pgconn))
        pgconn.exit_pipeline_mode()
    except BaseException:
        # Answers may be pending, in pipeline mode: the connection is good for nothing more.
        driver.close()
        raise
    results, failure = [None] * len(statements), None
    for sent, answer in zip(expected, answers, strict=True):
        if answer.status == ExecStatus.FATAL_ERROR and failure is None:
            failure = ("PREPARE" if isinstance(sent, bytes) else sent, answer)
        elif isinstance(sent, bytes) and answer.status == ExecStatus.COMMAND_OK:
            prepared.add(sent)
        if isinstance(sent, int):
            results[sent] = answer
    return results, failure


def _flush_and_read(pgconn):
    """A psycopg wait generator: send what libpq holds, then take one answer per command (the last
    result each gave) until the Sync's."""
    while pgconn.flush():
        if (yield Wait.RW) & Ready.R:
            pgconn.consume_input()
    answers, last = [], None
    while True:
        while pgconn.is_busy():
            yield Wait.R
            pgconn.consume_input()
        result = pgconn.get_result()
        if result is None:  # the end of one command's results
            answers.append(last)
            last = None
        elif result.status == ExecStatus.PIPELINE_SYNC:
            return answers
        else:
            last = result


def _rows(loader: Transformer, result) -> list:
    loader.set_pgresult(result)
    names = tuple(result.fname(i).decode() for i in range(result.nfields))
    return loader.load_rows(0, result.ntuples, _row_class(names)._make)


@functools.lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]):
    return collections.namedtuple("Row", names, rename=True)


# Bounded: a statement built per call (which should not come here) would otherwise fill it.
@functools.lru_cache(maxsize=1024)
def _driver_form(statement: ClauseElement, dialect: Dialect, keys: tuple[str, ...]) -> _Form | None:
    # As conn.execute compiles it: an INSERT or UPDATE names the columns it is given values for.
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    converts = (
        compiled._bind_processors
        or compiled.insert_prefetch
        or compiled.post_compile_params  # an IN list, rendered per call
        or compiled.update_prefetch
        or any(column.type._cached_result_processor(dialect, None) for column in compiled._result_columns)
    )
    if converts:
        return None
    names: list[str] = []

    def numbered(match: re.Match) -> str:
        if match.group(1) is None:
            return "%"  # "%%", a literal percent sign
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    query = re.sub(r"%\(([^)]+)\)s|%%", numbered, compiled.string)
    return _Form(compiled.string, compiled, query.encode(), tuple(names))
