"""The in-memory bus: the consumer's semantics without a broker."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from events.catalogue import CATALOGUE
from events.dispatch import Dispatcher, Outcome
from events.envelope import Event
from events.memory import InMemoryBus
from schemas.events.members import APPROVED, SUSPENDED
from services.common.db import Database


def make_db(path, name: str) -> Database:
    metadata = MetaData()
    Table(
        "seen",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_type", String(120), nullable=False),
        Column("member_id", String(36), nullable=False),
    )
    db = Database(f"sqlite:///{path}/{name}.db", metadata, CATALOGUE, source=f"/{name}")
    db.create_all()
    return db


@pytest.fixture
def producer(tmp_path):
    db = make_db(tmp_path, "enrolment")
    yield db
    db.engine.dispose()


@pytest.fixture
def consumer(tmp_path):
    db = make_db(tmp_path, "courses")
    yield db
    db.engine.dispose()


def record_seen(db: Database):
    def handle(event: Event, uow) -> None:
        uow.connection.execute(
            db.metadata.tables["seen"]
            .insert()
            .values(event_type=event.type, member_id=event.data["member_id"])
        )

    return handle


def seen(db: Database) -> list[tuple[str, str]]:
    table = db.metadata.tables["seen"]
    with db.engine.connect() as conn:
        return [
            tuple(r) for r in conn.execute(select(table.c.event_type, table.c.member_id).order_by(table.c.id))
        ]


def subscribe(bus: InMemoryBus, db: Database, name: str, handlers: dict) -> None:
    bus.subscribe(Dispatcher(name, handlers, CATALOGUE, db.unit_of_work, db.inbox, sleep=lambda _: None))


def approve(db: Database, member_id: str) -> Event:
    with db.unit_of_work() as uow:
        event = uow.emit(
            APPROVED,
            member_id,
            {"member_id": member_id, "branch_id": "b-1", "occurred_at": datetime.now(UTC)},
        )
        uow.commit()
    return event


def unsent(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(db.outbox).where(db.outbox.c.sent_at.is_(None))
        ).scalar_one()


def test_relay_delivers_unsent_outbox_rows_in_order_and_marks_them_sent(producer, consumer):
    bus = InMemoryBus()
    subscribe(bus, consumer, "courses", {APPROVED: record_seen(consumer)})
    events = [approve(producer, f"m-{i}") for i in range(3)]

    assert bus.relay(producer.engine, producer.outbox) == 3

    assert [e.id for e in bus.published] == [e.id for e in events]
    assert seen(consumer) == [(APPROVED, "m-0"), (APPROVED, "m-1"), (APPROVED, "m-2")]
    assert unsent(producer) == 0
    assert bus.relay(producer.engine, producer.outbox) == 0  # nothing goes out twice
    assert len(bus.published) == 3


def test_publish_reaches_every_subscribed_group_with_its_own_outcome(producer, consumer):
    bus = InMemoryBus()
    subscribe(bus, consumer, "courses", {APPROVED: record_seen(consumer)})
    subscribe(bus, producer, "enrolment", {SUSPENDED: record_seen(producer)})
    event = approve(producer, "m-1")
    bus.relay(producer.engine, producer.outbox)

    outcomes = bus.publish(event)  # delivered a second time

    assert outcomes == {"courses": Outcome.DUPLICATE, "enrolment": Outcome.IGNORED}
    assert seen(consumer) == [(APPROVED, "m-1")]
    assert seen(producer) == []


def test_schema_violation_is_dead_lettered_and_others_still_apply(consumer):
    bus = InMemoryBus()
    subscribe(bus, consumer, "courses", {APPROVED: record_seen(consumer)})
    bad = Event(type=APPROVED, source="/rogue", subject="m-1", data={"member_id": "m-1"})
    good = Event(
        type=APPROVED,
        source="/enrolment",
        subject="m-2",
        data={"member_id": "m-2", "branch_id": "b-1", "occurred_at": datetime.now(UTC).isoformat()},
    )

    assert bus.publish(bad) == {"courses": Outcome.DEAD}
    assert bus.publish(good) == {"courses": Outcome.APPLIED}

    [(group, event, failure)] = bus.dead_letters
    assert (group, event.id, failure.kind) == ("courses", bad.id, "schema")
    assert "branch_id" in failure.error and "occurred_at" in failure.error
    assert seen(consumer) == [(APPROVED, "m-2")]


def test_handler_may_write_to_the_database_being_relayed_and_emit_follow_ups(producer):
    # One database for both sides: the relay must hold no transaction while handlers run, or
    # SQLite's write lock would block the handler.
    bus = InMemoryBus()

    def suspend_on_approval(event: Event, uow) -> None:
        record_seen(producer)(event, uow)
        uow.emit(SUSPENDED, event.subject, {"member_id": event.subject, "occurred_at": datetime.now(UTC)})

    subscribe(bus, producer, "enrolment", {APPROVED: suspend_on_approval, SUSPENDED: record_seen(producer)})
    approve(producer, "m-1")

    assert bus.relay(producer.engine, producer.outbox) == 1
    assert bus.relay(producer.engine, producer.outbox) == 1  # the follow-up written by the handler
    assert bus.relay(producer.engine, producer.outbox) == 0

    assert seen(producer) == [(APPROVED, "m-1"), (SUSPENDED, "m-1")]
    assert [e.type for e in bus.published] == [APPROVED, SUSPENDED]


def test_failing_handler_leaves_no_state_and_is_dead_lettered(consumer):
    bus = InMemoryBus()

    def broken(event, uow):
        record_seen(consumer)(event, uow)
        raise ValueError("boom")

    subscribe(bus, consumer, "courses", {APPROVED: broken})
    event = Event(
        type=APPROVED,
        source="/enrolment",
        subject="m-1",
        data={"member_id": "m-1", "branch_id": "b-1", "occurred_at": datetime.now(UTC).isoformat()},
    )

    assert bus.publish(event) == {"courses": Outcome.DEAD}
    [(_, _, failure)] = bus.dead_letters
    assert (failure.kind, failure.error) == ("handler", "ValueError: boom")
    assert seen(consumer) == []
