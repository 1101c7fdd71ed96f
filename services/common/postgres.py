"""The PostgreSQL engine: a pool that pings only idle connections, write transactions whose BEGIN
goes with their first statement, and read-only units of work without one."""

from __future__ import annotations

import time

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL

from .sql import BEGIN_PENDING, READ_ONLY

# pool_pre_ping cost a round trip on every checkout, one of the scan page's five. A connection
# used in the last few seconds is alive or the server just went away; in that case the failing
# statement invalidates the whole pool, as a failed ping would have, and the next checkout
# reconnects. Only a connection idle for longer is pinged first.
PING_AFTER_IDLE_SECONDS = 5.0

_READS = ("SELECT", "WITH", "SHOW")


def make_engine(url: URL) -> Engine:
    # hide_parameters: a failing statement's error (logged) would otherwise carry its values, the
    # personal data of a join or a child's booking among them, into the logs unaudited.
    engine = create_engine(url, pool_size=10, max_overflow=10, hide_parameters=True)

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_when_idle(dbapi_conn, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since > PING_AFTER_IDLE_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as error:
                raise exc.DisconnectionError() from error  # the pool reconnects and checks out again

    # psycopg sends a transaction's BEGIN in a round trip of its own before the first statement,
    # pipeline or not (its _start_query). Connections here run in autocommit mode instead, and a
    # write transaction sends BEGIN itself, just before its first statement: in the same pipeline
    # when sql.fetch sends that statement (a booking's three round trips became two). psycopg's commit()
    # and rollback() still send COMMIT and ROLLBACK whenever the server is in a transaction.
    #
    # Nor does psycopg prepare statements of its own: sql.fetch prepares the hot ones on each
    # connection, and psycopg, once it has prepared one, answers a ROLLBACK with DEALLOCATE ALL,
    # which took sql.fetch's with it ("prepared statement does not exist"). What SQLAlchemy sends
    # is planned each time, as with psycopg 2.
    @event.listens_for(engine, "connect")
    def _autocommit(dbapi_conn, _record):
        dbapi_conn.autocommit = True
        dbapi_conn.prepare_threshold = None

    # A read-only unit of work sends no BEGIN and so no ROLLBACK, two round trips fewer: under READ
    # COMMITTED each statement has its own snapshot anyway, and it reads nothing it must hold.
    @event.listens_for(engine, "begin")
    def _begin(conn):
        read_only = bool(conn.get_execution_options().get(READ_ONLY))
        conn.connection.info["read_only" if read_only else BEGIN_PENDING] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_first(conn, _cursor, statement, _parameters, _context, _executemany):
        info = conn.connection.info
        if info.pop(BEGIN_PENDING, False):
            # On a cursor of its own: the statement's may be a server-side one (an export's).
            conn.connection.driver_connection.execute("BEGIN", prepare=False)
        # Without a transaction a write would commit at once; SQLite refuses it (query_only), so
        # PostgreSQL must too.
        elif info.get("read_only") and not statement.lstrip()[:6].upper().startswith(_READS):
            raise exc.InvalidRequestError(f"a write in a read-only unit of work: {statement[:60]}")

    @event.listens_for(engine, "reset")
    def _transaction_over(_dbapi_conn, record, _state):
        record.info.pop("read_only", None)
        record.info.pop(BEGIN_PENDING, None)

    return engine
