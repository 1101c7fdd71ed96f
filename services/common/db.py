"""Database engine and the unit of work around each transaction.

A unit of work commits the state change and the outbox rows describing it together; leaving the
block without ``commit()`` rolls both back.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, exc, text
from sqlalchemy.engine import URL, make_url

from events import outbox as outbox_mod
from events.catalogue import CATALOGUE, Catalogue
from events.envelope import Event
from events.store import add_bus_tables

from . import postgres, sql, sqlite
from .jwks import add_issuer_keys_table
from .sql import READ_ONLY, xact_lock

SCHEMA_LOCK_KEY = 0x756E696F6E686263  # any constant: one service's database per lock


def make_engine(url: str) -> Engine:
    """The engine of a service's database: PostgreSQL, or SQLite for the quick start."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return sqlite.make_engine(parsed)
    return postgres.make_engine(parsed)


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


# SQLSTATE insufficient_privilege: DROP DATABASE ... WITH (FORCE) may not end a backend whose role
# the caller does not hold.
_NOT_OURS = "42501"


def drop_database(maintenance_url: str | URL, name: str, *, seconds: float = 5.0) -> None:
    """Drop PostgreSQL database ``name``, if it exists, ending its sessions (WITH (FORCE)); for the
    scratch and test databases this project makes. PostgreSQL refuses to end a backend whose role
    the caller does not hold, and an autovacuum worker, which holds none, may be working on a
    database just filled: it is gone within moments, so the drop is tried again for ``seconds``
    before the error stands."""
    engine = create_engine(maintenance_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        for attempt in itertools.count(1):
            try:
                with engine.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                return
            except exc.DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) != _NOT_OURS or attempt * 0.1 >= seconds:
                    raise
                time.sleep(0.1)
    finally:
        engine.dispose()


class Database:
    """A service's metadata, engine, bus tables and copy of its token issuer's keys in one place."""

    def __init__(self, url: str, metadata: MetaData, catalogue: Catalogue = CATALOGUE, source: str = ""):
        self.metadata = metadata
        if "outbox" not in metadata.tables:
            add_bus_tables(metadata)
        self.outbox: Table = metadata.tables["outbox"]
        self.inbox: Table = metadata.tables["inbox"]
        if "issuer_keys" not in metadata.tables:
            add_issuer_keys_table(metadata)
        self.issuer_keys: Table = metadata.tables["issuer_keys"]
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
        self._read_only = False

    def read_only(self) -> UnitOfWork:
        """Enter for a transaction that only reads: on SQLite it takes no write lock, on PostgreSQL
        it saves BEGIN and ROLLBACK; a write inside it is refused."""
        self._read_only = True
        return self

    def __enter__(self) -> UnitOfWork:
        self.connection = self.db.engine.connect()
        if self._read_only:
            self.connection = self.connection.execution_options(**{READ_ONLY: True})
        try:
            self._transaction = self.connection.begin()
        except Exception:
            self.connection.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._read_only = False  # the next entry of the same unit of work may write
        try:
            if self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self.connection.close()

    def record(self, event: Event) -> None:
        """Add an event to the outbox in this transaction."""
        # A hot statement: every accepted request that changes anything records an event.
        sql.fetch(self.connection, *self.recording(event))

    def recording(self, event: Event) -> tuple:
        """``record``'s statement and parameters, for a use case that sends it with its other
        writes (``sql.fetch_in_turn``)."""
        return outbox_mod.insert_statement(self.db.outbox), self.outbox_row(event)

    def event(self, event_type: str, subject: str, data: dict) -> Event:
        """An event of this service, carrying this request's trace context, not yet recorded: for a
        use case that writes its outbox row within a statement of its own (``outbox_row``)."""
        return Event(
            type=event_type, source=self.db.source, subject=subject, data=data, traceparent=self.traceparent
        )

    def outbox_row(self, event: Event) -> dict:
        """The outbox row ``record`` would insert for ``event``, its payload checked."""
        return outbox_mod.serialise(event, self.db.catalogue)

    def emit(self, event_type: str, subject: str, data: dict) -> Event:
        event = self.event(event_type, subject, data)
        self.record(event)
        return event

    def commit(self) -> None:
        self._transaction.commit()


UowFactory = Callable[[], UnitOfWork]
