"""Database engine and the unit of work around each transaction.

A unit of work commits the state change and the outbox rows describing it together; leaving the
block without ``commit()`` rolls both back.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, exc, text
from sqlalchemy.engine import make_url

from events import outbox as outbox_mod
from events.catalogue import CATALOGUE, Catalogue
from events.envelope import Event
from events.store import add_bus_tables

from . import sqlite
from .sql import xact_lock

SCHEMA_LOCK_KEY = 0x756E696F6E686263  # any constant: one service's database per lock


def make_engine(url: str) -> Engine:
    """The engine of a service's database: PostgreSQL, or SQLite for the quick start.

    A connection begun with the execution option ``sqlite.READ_ONLY`` serves a transaction that
    only reads: on SQLite it takes no write lock; on PostgreSQL it runs without BEGIN and
    ROLLBACK, two round trips fewer, and READ COMMITTED gave each statement its own snapshot anyway.
    """
    import time

    from sqlalchemy import event

    ping_after_idle_seconds = 5.0
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return sqlite.make_engine(parsed)
    engine = create_engine(url, pool_size=10, max_overflow=10)

    # pool_pre_ping cost a round trip on every checkout, one of the scan page's five. A connection
    # used in the last few seconds is alive or the server just went away; in that case the failing
    # statement invalidates the whole pool, as a failed ping would have, and the next checkout
    # reconnects. Only a connection idle for longer is pinged first.
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_when_idle(dbapi_conn, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since > ping_after_idle_seconds:
            try:
                engine.dialect.do_ping(dbapi_conn)
            except Exception as error:
                raise exc.DisconnectionError() from error  # the pool reconnects and checks out again

    @event.listens_for(engine, "begin")
    def _read_only(conn):
        if conn.get_execution_options().get(sqlite.READ_ONLY):
            conn.connection.driver_connection.autocommit = True
            conn.connection.info["read_only"] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _refuse_writes(conn, _cursor, statement, _parameters, _context, _executemany):
        # Without a transaction a write would commit at once; SQLite refuses it (query_only), so
        # PostgreSQL must too.
        if conn.connection.info.get("read_only") and not statement.lstrip()[:6].upper().startswith(
            ("SELECT", "WITH", "SHOW")
        ):
            raise exc.InvalidRequestError(f"a write in a read-only unit of work: {statement[:60]}")

    @event.listens_for(engine, "reset")
    def _read_write_again(dbapi_conn, record, _state):
        if record.info.pop("read_only", False) and not dbapi_conn.closed:
            dbapi_conn.autocommit = False

    return engine


def ensure_database(engine: Engine) -> None:
    """Create a PostgreSQL database that does not exist yet (each service has its own).

    Where it exists, as in production, this only connects; creating needs the CREATEDB privilege.
    """
    if engine.dialect.name != "postgresql":
        return
    try:
        engine.connect().close()
        return
    except exc.OperationalError as error:
        if "does not exist" not in str(error):
            raise
    maintenance = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            try:
                conn.execute(text(f'CREATE DATABASE "{engine.url.database}"'))
            # Another process created it meanwhile: PostgreSQL reports the loser's CREATE DATABASE
            # as "already exists", or as a unique violation on pg_database when both ran at once.
            except (exc.ProgrammingError, exc.IntegrityError) as error:
                if "already exists" not in str(error):
                    raise
    finally:
        maintenance.dispose()


class Database:
    """A service's metadata, engine and bus tables in one place."""

    def __init__(self, url: str, metadata: MetaData, catalogue: Catalogue = CATALOGUE, source: str = ""):
        self.metadata = metadata
        if "outbox" not in metadata.tables:
            add_bus_tables(metadata)
        self.outbox: Table = metadata.tables["outbox"]
        self.inbox: Table = metadata.tables["inbox"]
        self.engine = make_engine(url)
        self.catalogue = catalogue
        self.source = source

    def create_all(self) -> None:
        ensure_database(self.engine)
        with self.engine.begin() as conn:
            # Every web worker and replica calls this at start; one creates, the others wait.
            xact_lock(conn, SCHEMA_LOCK_KEY)
            self.metadata.create_all(conn)
            # create_all adds tables, not the indexes a newer release adds to an existing table.
            for table in self.metadata.sorted_tables:
                for index in table.indexes:
                    index.create(conn, checkfirst=True)

    def unit_of_work(self, *, traceparent: str | None = None, request_id: str | None = None) -> UnitOfWork:
        return UnitOfWork(self, traceparent=traceparent, request_id=request_id)


class UnitOfWork:
    """One transaction, and the request it serves: events it records carry that request's trace
    context, audit rows its request id, so use cases never pass them along by hand."""

    def __init__(self, db: Database, *, traceparent: str | None = None, request_id: str | None = None):
        self.db = db
        self.traceparent = traceparent
        self.request_id = request_id
        self.connection: Connection | None = None
        self._transaction = None

    def __enter__(self) -> UnitOfWork:
        self.connection = self.db.engine.connect()
        try:
            self._transaction = self.connection.begin()
        except Exception:
            self.connection.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self.connection.close()

    def record(self, event: Event) -> None:
        """Add an event to the outbox in this transaction."""
        outbox_mod.append(self.connection, self.db.outbox, event, self.db.catalogue)

    def emit(self, event_type: str, subject: str, data: dict) -> Event:
        event = Event(
            type=event_type, source=self.db.source, subject=subject, data=data, traceparent=self.traceparent
        )
        self.record(event)
        return event

    def commit(self) -> None:
        self._transaction.commit()


UowFactory = Callable[[], UnitOfWork]
