"""The SQLite engine of the quick start: one file per service, WAL, writers that queue.

PostgreSQL is what production and the integration tests use; SQLite keeps a first local run free
of servers, so it must behave (transactions, foreign keys, concurrent writers) the same way.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL


def make_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):
        # pysqlite's own transaction handling is switched off so the "begin" hook below decides.
        dbapi_conn.isolation_level = None
        # WAL lets the relay read while a request writes; foreign keys are off by default in SQLite.
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin_immediate(conn):
        # Take the write lock up front so two writers queue instead of failing on lock upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
