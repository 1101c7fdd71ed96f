"""The bus's two tables, added to each service's own metadata.

outbox: events written in the same transaction as the state they describe, waiting for the relay.
inbox: ids of events a consumer group has applied, written in the handler's transaction, so a
redelivered event is recognised and changes nothing.
"""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    bindparam,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

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
        Column("sent_at", DateTime(timezone=True), nullable=True),
    )
    # The relay's query is "unsent rows in seq order": a partial index holds exactly those rows, so
    # it stays as small as the backlog, however many sent rows wait for pruning.
    unsent = outbox.c.sent_at.is_(None)
    Index("ix_outbox_unsent", outbox.c.seq, postgresql_where=unsent, sqlite_where=unsent)
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


def claim(conn: Connection, inbox: Table, consumer: str, events: dict[str, str], now: datetime) -> set[str]:
    """Record ``events`` (id -> type) as applied by ``consumer``; return the ids not recorded before.

    One INSERT ... ON CONFLICT DO NOTHING RETURNING for the whole batch. A second consumer instance
    claiming the same id at the same moment (a rebalance) waits on the row and then finds it taken.
    """
    params = {"consumer": consumer, "now": now}
    if conn.dialect.name == "postgresql":
        params |= {"ids": list(events), "types": list(events.values())}
        return set(conn.execute(_claim_from_arrays(inbox), params).scalars())
    rows = [{**params, "event_id": event_id, "event_type": kind} for event_id, kind in events.items()]
    return set(conn.execute(_claim_each(inbox), rows).scalars())


# Both statements are built from bind parameters only, so SQLAlchemy compiles each once and caches
# it. On PostgreSQL the batch travels as two arrays in one short statement: a VALUES list of 500
# rows was a new 2,000-placeholder query for the driver to parse on every batch.
def _claim_from_arrays(inbox: Table):
    batch = (
        func.unnest(
            bindparam("ids", type_=postgresql.ARRAY(String)),
            bindparam("types", type_=postgresql.ARRAY(String)),
        )
        .table_valued("event_id", "event_type")
        .render_derived(name="batch")
    )
    rows = select(
        bindparam("consumer", type_=String),
        batch.c.event_id,
        batch.c.event_type,
        bindparam("now", type_=DateTime(timezone=True)),
    )
    return (
        postgresql.insert(inbox)
        .from_select(["consumer", "event_id", "event_type", "processed_at"], rows)
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(inbox.c.event_id)
    )


def _claim_each(inbox: Table):
    return (
        sqlite.insert(inbox)
        .values(
            consumer=bindparam("consumer"),
            event_id=bindparam("event_id"),
            event_type=bindparam("event_type"),
            processed_at=bindparam("now"),
        )
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(inbox.c.event_id)
    )


def prune(engine, outbox: Table, inbox: Table, before) -> tuple[int, int]:
    """Delete outbox rows sent before ``before`` and inbox rows processed before it.

    Safe once ``before`` is older than the topics' retention: Kafka can no longer redeliver an event
    whose inbox row goes, and a sent outbox row is never read again.
    """
    with engine.begin() as conn:
        sent = conn.execute(outbox.delete().where(outbox.c.sent_at < before)).rowcount
        seen = conn.execute(inbox.delete().where(inbox.c.processed_at < before)).rowcount
    return sent, seen
