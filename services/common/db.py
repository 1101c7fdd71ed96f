"""Database engine and the unit of work around each transaction.

A unit of work commits the state change and the outbox rows describing it together; leaving the
block without ``commit()`` rolls both back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, event, exc, text
from sqlalchemy.engine import make_url

from events import outbox as outbox_mod
from events.catalogue import CATALOGUE, Catalogue
from events.envelope import Event
from events.store import add_bus_tables

SCHEMA_LOCK_KEY = 0x756E696F6E686263  # any constant: one service's database per lock


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
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
            except exc.ProgrammingError as error:
                if "already exists" not in str(error):  # another process created it meanwhile
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
            if conn.dialect.name == "postgresql":
                # Every web worker and replica calls this at start; one creates, the others wait.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            self.metadata.create_all(conn)
            # create_all adds tables, not the indexes a newer release adds to an existing table.
            for table in self.metadata.sorted_tables:
                for index in table.indexes:
                    index.create(conn, checkfirst=True)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self)


class UnitOfWork:
    def __init__(self, db: Database):
        self.db = db
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

    def emit(self, event_type: str, subject: str, data: dict, *, traceparent: str | None = None) -> Event:
        event = Event(
            type=event_type, source=self.db.source, subject=subject, data=data, traceparent=traceparent
        )
        self.record(event)
        return event

    def commit(self) -> None:
        self._transaction.commit()


UowFactory = Callable[[], UnitOfWork]
