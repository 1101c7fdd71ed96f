"""The bus's two tables, added to each service's own metadata.

outbox: events written in the same transaction as the state they describe, waiting for the relay.
inbox: ids of events a consumer group has applied, written in the handler's transaction, so a
redelivered event is recognised and changes nothing.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import postgresql, sqlite


def insert_on_conflict(conn: Connection, table: Table):
    """An INSERT that can say ON CONFLICT, in the dialect of ``conn`` (PostgreSQL or SQLite)."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
_Seq = BigInteger().with_variant(Integer(), "sqlite")


def add_bus_tables(metadata: MetaData) -> tuple[Table, Table]:
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", _Seq, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("topic", String(120), nullable=False),
        Column("key", String(120), nullable=False),
        Column("type", String(120), nullable=False),
        Column("headers", Text, nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True, index=True),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(120), nullable=False),
        Column("event_id", String(36), nullable=False),
        Column("event_type", String(120), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("consumer", "event_id"),
    )
    return outbox, inbox


def prune(engine, outbox: Table, inbox: Table, before) -> tuple[int, int]:
    """Delete outbox rows sent before ``before`` and inbox rows processed before it.

    Safe once ``before`` is older than the topics' retention: Kafka can no longer redeliver an event
    whose inbox row goes, and a sent outbox row is never read again.
    """
    with engine.begin() as conn:
        sent = conn.execute(outbox.delete().where(outbox.c.sent_at < before)).rowcount
        seen = conn.execute(inbox.delete().where(inbox.c.processed_at < before)).rowcount
    return sent, seen
