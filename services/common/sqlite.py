"""The SQLite engine of the quick start: one file per service, WAL, writers that queue.

PostgreSQL is what production and the integration tests use; SQLite keeps a first local run free
of servers, so it must behave (transactions, foreign keys, concurrent writers) the same way.

SQLite admits one writer at a time. Left to itself, a writer that finds the lock taken sleeps and
polls (its busy handler sleeps up to 100 ms between tries), so under load short waits became long
tails: a join's p99 passed 200 ms beyond two clients (docs/benchmarks.md). Here every write
transaction first takes an exclusive ``flock`` on ``<database>.lock`` beside the file, then
``BEGIN IMMEDIATE``; the flock is released after COMMIT or ROLLBACK. Writers of every thread and
every process (gunicorn workers, the relay, the CLI) so wait in the kernel and are woken the moment
the lock is free. ``busy_timeout`` stays as the last resort for a writer that does not take the
flock (the sqlite3 shell, an older release).

A transaction begun on a connection with the execution option ``READ_ONLY`` takes no lock at all:
in WAL mode a reader sees a consistent snapshot while one writer commits. SQLite is told the
transaction is read-only (``PRAGMA query_only``), so a write inside it fails at once instead of
racing the writers for the lock it never took.
"""

from __future__ import annotations

import fcntl
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.dialects.sqlite import DATETIME
from sqlalchemy.engine import URL

from .sql import READ_ONLY


class WriteLock:
    """The flock beside a database file, held from BEGIN to COMMIT/ROLLBACK of a write transaction."""

    def __init__(self, path: Path):
        self.path = path
        # DBAPI connection id → (descriptor holding the flock, thread that took it).
        self._held: dict[int, tuple[int, int]] = {}
        self._guard = threading.Lock()

    def held_by_this_thread(self) -> bool:
        me = threading.get_ident()
        with self._guard:
            return any(thread == me for _, thread in self._held.values())

    def acquire(self, dbapi_connection) -> None:
        # A descriptor of its own per transaction: flock excludes other open file descriptions,
        # so threads of one process queue on it just as processes do.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # blocks in the kernel, without the GIL
        except BaseException:
            os.close(fd)
            raise
        with self._guard:
            self._held[id(dbapi_connection)] = (fd, threading.get_ident())

    def release(self, dbapi_connection) -> None:
        with self._guard:
            held = self._held.pop(id(dbapi_connection), None)
        if held is not None:
            os.close(held[0])  # closing the last descriptor of the description drops the flock


def _raw(connection):
    """The sqlite3 connection behind whatever SQLAlchemy hands over (pool proxy or the real one)."""
    return getattr(connection, "dbapi_connection", None) or connection


class _UtcDateTime(DATETIME):
    """SQLite keeps a datetime as text without its offset, so one given as +08:00 (a form's Shanghai
    time) would be read back as that wall time in UTC, eight hours off: it is turned to UTC first."""

    def bind_processor(self, dialect):
        as_text = super().bind_processor(dialect)

        def process(value):
            if isinstance(value, datetime) and value.tzinfo is not None:
                value = value.astimezone(UTC)
            return as_text(value)

        return process


def make_engine(url: URL) -> Engine:
    on_disk = bool(url.database) and url.database != ":memory:" and not url.database.startswith("file:")
    if on_disk:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: as on PostgreSQL (postgres.py), no statement's values in a logged error.
    engine = create_engine(
        url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True
    )
    engine.dialect.colspecs = {**engine.dialect.colspecs, DateTime: _UtcDateTime}  # before any use
    lock = WriteLock(Path(f"{url.database}.lock")) if on_disk else None

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, record):
        # pysqlite's own transaction handling is switched off so the "begin" hook below decides.
        dbapi_conn.isolation_level = None
        # WAL lets the relay read while a request writes; foreign keys are off by default in SQLite.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()
        record.info["query_only"] = False

    def _query_only(conn, on: bool) -> None:
        info = conn.connection.info
        if info.get("query_only") != on:  # a pragma only when the mode changes
            conn.connection.driver_connection.execute(f"PRAGMA query_only={int(on)}")
            info["query_only"] = on

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):
        if conn.get_execution_options().get(READ_ONLY):
            _query_only(conn, True)
            conn.exec_driver_sql("BEGIN")  # deferred: a snapshot, no lock
            return
        _query_only(conn, False)
        raw = _raw(conn.connection)
        # A thread that already writes on another connection would wait on itself forever; it
        # gets SQLite's own lock and its busy_timeout instead, and fails after 30 s as before.
        queued = lock is not None and not lock.held_by_this_thread()
        if queued:
            lock.acquire(raw)
        try:
            # Take SQLite's write lock up front too, so a writer never fails on lock upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if queued:
                lock.release(raw)
            raise

    if lock is not None:
        dialect = engine.dialect
        commit, rollback = dialect.do_commit, dialect.do_rollback

        # The flock must outlive COMMIT/ROLLBACK: the engine's commit and rollback events fire
        # before them, so the release wraps the dialect's calls (the pool's reset-on-return
        # rollback goes through these too).
        def do_commit(dbapi_connection):
            try:
                commit(dbapi_connection)
            finally:
                lock.release(_raw(dbapi_connection))

        def do_rollback(dbapi_connection):
            try:
                rollback(dbapi_connection)
            finally:
                lock.release(_raw(dbapi_connection))

        dialect.do_commit = do_commit
        dialect.do_rollback = do_rollback

        @event.listens_for(engine, "close")
        def _closed(dbapi_conn, _record):
            lock.release(dbapi_conn)  # a connection closed mid-transaction (invalidated, say)

        @event.listens_for(engine, "invalidate")
        def _invalidated(dbapi_conn, _record, _exception):
            if dbapi_conn is not None:
                lock.release(dbapi_conn)

    return engine
