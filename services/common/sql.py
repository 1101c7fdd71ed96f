"""SQL helpers every service's repository needs, for both PostgreSQL and the SQLite quick start."""

from __future__ import annotations

from sqlalchemy import Connection, Table, text
from sqlalchemy.dialects import postgresql, sqlite

# An execution option for a connection before its first statement: the transaction only reads
# (UnitOfWork.read_only). Each engine (sqlite.py, postgres.py) makes that cheaper its own way.
READ_ONLY = "unionhub_read_only"


def insert_on_conflict(conn: Connection, table: Table):
    """An INSERT that can say ON CONFLICT, in the dialect of ``conn`` (PostgreSQL or SQLite)."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def xact_lock(conn: Connection, key: int) -> None:
    """Serialise transactions that take the same ``key`` until this one ends.

    PostgreSQL: an advisory transaction lock. SQLite needs none: every write transaction there
    begins IMMEDIATE and so holds the database's one write lock already.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
