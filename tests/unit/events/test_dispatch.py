"""Exactly-once application through the inbox, retries, dead-lettering, and the outbox's transaction."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from kafka import TopicPartition
from kafka.future import Future
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.exc import InternalError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from events.catalogue import CATALOGUE
from events.consumer import ConsumerRunner
from events.dispatch import Dispatcher, InfrastructureDown, ManyHandler, Outcome
from events.envelope import Event, encode_data, to_headers
from events.outbox import InvalidEventPayload
from schemas.events.members import APPROVED, JOINED, SUSPENDED
from services.common.db import Database


def approved(member_id: str = "m-1", **data) -> Event:
    payload = {"member_id": member_id, "branch_id": "b-7", "occurred_at": datetime.now(UTC).isoformat()}
    return Event(type=APPROVED, source="/enrolment", subject=member_id, data={**payload, **data})


@pytest.fixture
def db(tmp_path) -> Database:
    metadata = MetaData()
    Table(
        "approvals",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("member_id", String(36), nullable=False),
        Column("branch_id", String(36), nullable=False),
    )
    database = Database(f"sqlite:///{tmp_path}/consumer.db", metadata, CATALOGUE, source="/test")
    database.create_all()
    yield database
    database.engine.dispose()


def count(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(db.metadata.tables[table])).scalar_one()


class Recorder:
    """A handler that records an approval, optionally failing its first ``fail`` calls (or always)."""

    def __init__(self, db: Database, *, fail: int = 0, error: Exception | None = None):
        self.db = db
        self.fail = fail
        self.error = error or RuntimeError("branch service said no")
        self.calls = 0

    def __call__(self, event, uow):
        self.calls += 1
        uow.connection.execute(
            self.db.metadata.tables["approvals"]
            .insert()
            .values(member_id=event.data["member_id"], branch_id=event.data["branch_id"])
        )
        if self.calls <= self.fail:
            raise self.error


def dispatcher(db: Database, handler, sleeps: list[float] | None = None, **options) -> Dispatcher:
    sleeps = [] if sleeps is None else sleeps
    return Dispatcher(
        "test-consumer",
        {APPROVED: handler},
        CATALOGUE,
        db.unit_of_work,
        db.inbox,
        sleep=sleeps.append,
        **options,
    )


def test_event_is_applied_and_its_id_recorded_in_the_inbox(db):
    handler = Recorder(db)
    event = approved()

    outcome, failure = dispatcher(db, handler).deliver(event)

    assert (outcome, failure) == (Outcome.APPLIED, None)
    assert count(db, "approvals") == 1
    with db.engine.connect() as conn:
        row = conn.execute(select(db.inbox)).one()
    assert (row.consumer, row.event_id, row.event_type) == ("test-consumer", event.id, APPROVED)


def test_handler_receives_the_payload_loaded_through_the_schema(db):
    seen = []
    event = approved()

    dispatcher(db, lambda e, uow: seen.append(e.data)).deliver(event)

    assert isinstance(seen[0]["occurred_at"], datetime)  # loaded, not the ISO string on the wire
    assert seen[0]["member_id"] == "m-1"


def test_duplicate_delivery_changes_nothing_and_is_reported_as_duplicate(db):
    handler = Recorder(db)
    d = dispatcher(db, handler)
    event = approved()

    first = d.deliver(event)
    second = d.deliver(event)

    assert first == (Outcome.APPLIED, None)
    assert second == (Outcome.DUPLICATE, None)
    assert handler.calls == 1
    assert count(db, "approvals") == 1
    assert count(db, "inbox") == 1


def test_inbox_is_per_consumer_group(db):
    event = approved()
    a = Dispatcher("group-a", {APPROVED: Recorder(db)}, CATALOGUE, db.unit_of_work, db.inbox)
    b = Dispatcher("group-b", {APPROVED: Recorder(db)}, CATALOGUE, db.unit_of_work, db.inbox)

    assert a.deliver(event)[0] is Outcome.APPLIED
    assert b.deliver(event)[0] is Outcome.APPLIED
    assert a.deliver(event)[0] is Outcome.DUPLICATE


def test_failing_handler_is_retried_with_exponential_backoff_then_dead_lettered(db):
    sleeps: list[float] = []
    handler = Recorder(db, fail=100)

    outcome, failure = dispatcher(
        db, handler, sleeps, max_attempts=5, backoff_base=0.1, backoff_max=0.5
    ).deliver(approved())

    assert outcome is Outcome.DEAD
    assert failure.kind == "handler"
    assert failure.attempts == 5
    assert failure.error == "RuntimeError: branch service said no"
    assert handler.calls == 5
    assert sleeps == [0.1, 0.2, 0.4, 0.5]  # doubling, capped at backoff_max, no sleep after the last try
    assert count(db, "approvals") == 0
    assert count(db, "inbox") == 0


def test_handler_that_recovers_on_a_retry_is_applied_once(db):
    sleeps: list[float] = []
    handler = Recorder(db, fail=2)

    outcome, failure = dispatcher(db, handler, sleeps).deliver(approved())

    assert (outcome, failure) == (Outcome.APPLIED, None)
    assert handler.calls == 3
    assert len(sleeps) == 2
    assert count(db, "approvals") == 1  # the two failed attempts left nothing behind


def test_schema_error_dead_letters_at_once_without_calling_the_handler(db):
    sleeps: list[float] = []
    handler = Recorder(db)
    event = approved()
    del event.data["branch_id"]

    outcome, failure = dispatcher(db, handler, sleeps).deliver(event)

    assert outcome is Outcome.DEAD
    assert failure.kind == "schema"
    assert failure.attempts == 0
    assert "branch_id" in failure.error
    assert "Missing data for required field" in failure.error
    assert handler.calls == 0
    assert sleeps == []
    assert count(db, "inbox") == 0


def test_handler_state_and_inbox_row_roll_back_together_on_failure(db):
    handler = Recorder(db, fail=1)
    event = approved()

    outcome, _ = dispatcher(db, handler, max_attempts=1).deliver(event)

    assert outcome is Outcome.DEAD
    assert count(db, "approvals") == 0
    assert count(db, "inbox") == 0
    # Not marked as seen: the redelivery (a DLQ replay) is applied, not taken for a duplicate.
    assert dispatcher(db, handler, max_attempts=1).deliver(event) == (Outcome.APPLIED, None)
    assert count(db, "approvals") == 1


def test_event_claimed_by_another_instance_of_the_group_is_not_applied_again(db):
    event = approved()
    with db.engine.begin() as conn:  # another instance of the group applied it and committed
        conn.execute(
            db.inbox.insert().values(
                consumer="test-consumer",
                event_id=event.id,
                event_type=event.type,
                processed_at=datetime.now(UTC),
            )
        )
    handler = Recorder(db)

    assert dispatcher(db, handler).deliver(event) == (Outcome.DUPLICATE, None)
    assert handler.calls == 0
    assert count(db, "approvals") == 0


def test_event_without_a_handler_is_ignored(db):
    handler = Recorder(db)
    d = dispatcher(db, handler)
    joined = Event(type=JOINED, source="/enrolment", subject="m-1", data={})
    future = Event(type="unionhub.member.teleported.v9", source="/enrolment", subject="m-1", data={})

    assert d.deliver(joined) == (Outcome.IGNORED, None)
    assert d.deliver(future) == (Outcome.IGNORED, None)
    assert handler.calls == 0
    assert count(db, "inbox") == 0


class ReadOnlySqlTransaction(Exception):
    sqlstate = "25006"  # as psycopg's error of that name carries it


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("connect", {}, ConnectionRefusedError("database is down")),
        PoolTimeout("QueuePool limit of size 10 overflow 10 reached"),
        InternalError(
            "INSERT INTO inbox",
            {},
            ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"),
        ),
    ],
    ids=["unreachable", "pool-exhausted", "read-only-after-failover"],
)
def test_a_database_that_cannot_take_the_event_raises_infrastructure_down_instead_of_dead_lettering(
    db, error
):
    sleeps: list[float] = []

    def broken_uow():
        raise error

    d = Dispatcher(
        "test-consumer", {APPROVED: Recorder(db)}, CATALOGUE, broken_uow, db.inbox, sleep=sleeps.append
    )

    with pytest.raises(InfrastructureDown):
        d.deliver(approved())
    assert len(sleeps) == d.max_attempts - 1


# ------------------------------------------------------------- the runner ----


class FakeRecord:
    def __init__(self, event: Event, offset: int = 7, topic: str = "members", value: bytes | None = None):
        self.topic, self.partition, self.offset = topic, 2, offset
        self.key = event.key.encode()
        self.value = encode_data(event.data) if value is None else value
        self.headers = to_headers(event)


class FakeDlqProducer:
    def __init__(self):
        self.sent = []

    def send(self, topic, *, key, value, headers):
        self.sent.append((topic, key, value, dict(headers)))
        return self

    def get(self, timeout=None):
        return None


class FakeConsumer:
    """Offset commits as kafka-python takes them; an asynchronous one is confirmed unless
    ``confirm_async`` is off (the broker has not answered yet)."""

    def __init__(self, *, assigned=(("members", 2),), confirm_async: bool = True, end: int | None = None):
        self.commits = []  # asynchronous commits, in order
        self.sync_commits = []
        self.seeks = []
        self.assigned = {TopicPartition(topic, partition) for topic, partition in assigned}
        self.confirm_async = confirm_async
        self.end = end  # every partition's high watermark, if a fetch has told it

    def highwater(self, tp):
        return self.end

    def commit_async(self, offsets, callback=None):
        self.commits.append(_offsets(offsets))
        future = Future()
        if self.confirm_async:
            future.success(None)
        return future

    def commit(self, offsets, timeout_ms=None):
        assert timeout_ms is not None, "a commit on the way out must not wait for ever"
        self.sync_commits.append(_offsets(offsets))

    def assignment(self):
        return self.assigned

    def seek(self, tp, offset):
        self.seeks.append(((tp.topic, tp.partition), offset))


def _offsets(offsets) -> dict:
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()}


def process(runner: ConsumerRunner, records: list[FakeRecord], dlq, consumer=None) -> FakeConsumer:
    """Feed records to the runner as one poll batch, as kafka-python returns it."""
    consumer = consumer or FakeConsumer()
    batch: dict = {}
    for record in records:
        batch.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
    runner._process_batch(consumer, dlq, batch, threading.Event())
    return consumer


def consumed(outcome: Outcome) -> float:
    labels = {"consumer": "test-consumer", "type": APPROVED, "outcome": outcome.value}
    return REGISTRY.get_sample_value("unionhub_events_consumed_total", labels) or 0.0


def test_runner_counts_duplicates_and_sends_nothing_to_the_dlq(db):
    runner = ConsumerRunner(dispatcher(db, Recorder(db)), consumer_factory=None, producer_factory=None)
    dlq = FakeDlqProducer()
    record = FakeRecord(approved())
    before = consumed(Outcome.DUPLICATE)

    process(runner, [record], dlq)
    process(runner, [record], dlq)
    process(runner, [record], dlq)

    assert runner.counts[Outcome.APPLIED] == 1
    assert runner.counts[Outcome.DUPLICATE] == 2
    assert consumed(Outcome.DUPLICATE) - before == 2
    assert dlq.sent == []
    assert count(db, "approvals") == 1


def test_runner_dead_letters_with_error_and_origin_headers(db):
    runner = ConsumerRunner(
        dispatcher(db, Recorder(db, fail=100), max_attempts=3), consumer_factory=None, producer_factory=None
    )
    dlq = FakeDlqProducer()
    event = approved()

    process(runner, [FakeRecord(event, offset=41)], dlq)

    [(topic, key, value, headers)] = dlq.sent
    assert topic == "members.dlq"
    assert key == b"m-1"
    assert value == encode_data(event.data)  # the original bytes, untouched
    assert headers["ce_id"] == event.id.encode()
    assert headers["x-original-topic"] == b"members"
    assert headers["x-original-partition"] == b"2"
    assert headers["x-original-offset"] == b"41"
    assert headers["x-consumer"] == b"test-consumer"
    assert headers["x-error-kind"] == b"handler"
    assert headers["x-error-attempts"] == b"3"
    assert b"branch service said no" in headers["x-error-message"]
    assert "x-error-at" in headers
    assert runner.counts[Outcome.DEAD] == 1


def test_runner_dead_letters_a_record_that_is_not_a_cloudevent(db):
    runner = ConsumerRunner(dispatcher(db, Recorder(db)), consumer_factory=None, producer_factory=None)
    dlq = FakeDlqProducer()
    record = FakeRecord(approved(), value=b"[1, 2]")

    process(runner, [record], dlq)

    [(topic, _, value, headers)] = dlq.sent
    assert (topic, value) == ("members.dlq", b"[1, 2]")
    assert headers["x-error-kind"] == b"envelope"
    assert count(db, "inbox") == 0


def test_a_record_nested_too_deep_to_parse_is_dead_lettered_and_the_partition_moves_on(db):
    runner = ConsumerRunner(dispatcher(db, Recorder(db)), consumer_factory=None, producer_factory=None)
    dlq = FakeDlqProducer()
    too_deep = b"[" * 1100 + b"]" * 1100
    records = [FakeRecord(approved("m-1"), offset=20, value=too_deep), FakeRecord(approved("m-2"), offset=21)]

    consumer = process(runner, records, dlq)

    [(_, _, value, headers)] = dlq.sent
    assert (value, headers["x-error-kind"]) == (too_deep, b"envelope")
    assert count(db, "approvals") == 1  # the event behind it
    assert consumer.commits == [{("members", 2): 22}]


def test_a_batch_is_applied_in_one_go_and_offsets_move_past_it(db):
    handler = Recorder(db)
    runner = ConsumerRunner(dispatcher(db, handler), consumer_factory=None, producer_factory=None)
    events = [approved(f"m-{i}") for i in range(5)]

    consumer = process(
        runner, [FakeRecord(e, offset=10 + i) for i, e in enumerate(events)], FakeDlqProducer()
    )

    assert runner.counts[Outcome.APPLIED] == 5
    assert count(db, "approvals") == 5 and count(db, "inbox") == 5
    assert consumer.commits == [{("members", 2): 15}]


def test_lag_is_what_remains_after_the_batch_up_to_the_partition_end(db):
    runner = ConsumerRunner(dispatcher(db, Recorder(db)), consumer_factory=None, producer_factory=None)
    records = [FakeRecord(approved(f"m-{i}"), offset=10 + i) for i in range(3)]

    process(runner, records, FakeDlqProducer(), FakeConsumer(end=25))

    labels = {"consumer": "test-consumer", "topic": "members", "partition": "2"}
    assert REGISTRY.get_sample_value("unionhub_consumer_lag", labels) == 12  # offsets 13..24 to go
    assert REGISTRY.get_sample_value("unionhub_consumer_batch_seconds_count", {"consumer": "test-consumer"})


def test_on_stop_offsets_the_broker_has_not_confirmed_are_committed_and_waited_for(db):
    runner = ConsumerRunner(dispatcher(db, Recorder(db)), consumer_factory=None, producer_factory=None)
    consumer = FakeConsumer(confirm_async=False)
    process(runner, [FakeRecord(approved("m-1"), offset=10)], FakeDlqProducer(), consumer)
    process(runner, [FakeRecord(approved("m-2"), offset=11)], FakeDlqProducer(), consumer)

    runner._commit_unconfirmed(consumer)

    assert consumer.commits == [{("members", 2): 11}, {("members", 2): 12}]
    assert consumer.sync_commits == [{("members", 2): 12}]  # the latest offset only, once


def test_on_stop_confirmed_offsets_and_partitions_no_longer_assigned_are_not_committed_again(db):
    runner = ConsumerRunner(dispatcher(db, Recorder(db)), consumer_factory=None, producer_factory=None)
    confirmed = FakeConsumer()
    process(runner, [FakeRecord(approved("m-1"), offset=10)], FakeDlqProducer(), confirmed)
    runner._commit_unconfirmed(confirmed)

    revoked = FakeConsumer(assigned=(), confirm_async=False)
    process(runner, [FakeRecord(approved("m-2"), offset=11)], FakeDlqProducer(), revoked)
    runner._commit_unconfirmed(revoked)

    assert confirmed.sync_commits == [] and revoked.sync_commits == []


def test_one_failing_event_in_a_batch_is_dead_lettered_alone_and_the_rest_applied_once(db):
    class FailsFor(Recorder):
        def __call__(self, event, uow):
            if event.data["member_id"] == "m-2":
                raise RuntimeError("m-2 is poison")
            super().__call__(event, uow)

    handler = FailsFor(db)
    runner = ConsumerRunner(
        dispatcher(db, handler, max_attempts=2), consumer_factory=None, producer_factory=None
    )
    dlq = FakeDlqProducer()
    events = [approved(f"m-{i}") for i in range(5)]

    consumer = process(runner, [FakeRecord(e, offset=i) for i, e in enumerate(events)], dlq)

    assert [headers["ce_id"] for _, _, _, headers in dlq.sent] == [events[2].id.encode()]
    assert runner.counts[Outcome.APPLIED] == 4 and runner.counts[Outcome.DEAD] == 1
    assert count(db, "approvals") == 4  # the rolled-back batch attempt left nothing behind
    assert consumer.commits == [{("members", 2): 5}]


def test_a_batch_failing_past_its_time_leaves_the_rest_for_the_next_poll_in_order(db):
    # A handler's bug fails every event: each costs its retries, and a batch of hundreds took past
    # the poll interval. Past the batch's time (0 here) the events not yet tried wait, and the
    # partition resumes at the first of them.
    class FailsAll(Recorder):
        def __call__(self, event, uow):
            raise RuntimeError("a bug")

    runner = ConsumerRunner(
        dispatcher(db, FailsAll(db), max_attempts=2),
        consumer_factory=None,
        producer_factory=None,
        batch_seconds=0,
    )
    dlq = FakeDlqProducer()
    events = [approved(f"m-{i}") for i in range(4)]
    other = FakeRecord(approved("m-9"), offset=40)
    other.partition = 5  # another partition of the batch, its record untried too

    consumer = process(runner, [*(FakeRecord(e, offset=10 + i) for i, e in enumerate(events)), other], dlq)

    assert [headers["ce_id"] for _, _, _, headers in dlq.sent] == [events[0].id.encode()]
    assert runner.counts[Outcome.DEAD] == 1 and runner.counts[Outcome.APPLIED] == 0
    assert consumer.seeks == [(("members", 2), 11), (("members", 5), 40)]
    assert consumer.commits == [{("members", 2): 11, ("members", 5): 40}]

    later = process(runner, [FakeRecord(e, offset=10 + i) for i, e in enumerate(events) if i > 0], dlq)

    assert len(dlq.sent) == 2 and later.commits == [{("members", 2): 12}]  # one more each poll


def test_an_event_repeated_within_one_batch_is_applied_once(db):
    handler = Recorder(db)
    runner = ConsumerRunner(dispatcher(db, handler), consumer_factory=None, producer_factory=None)
    event = approved()

    process(runner, [FakeRecord(event, offset=1), FakeRecord(event, offset=2)], FakeDlqProducer())

    assert runner.counts[Outcome.APPLIED] == 1 and runner.counts[Outcome.DUPLICATE] == 1
    assert count(db, "approvals") == 1


def test_database_outage_rewinds_the_batch_and_commits_nothing(db):
    def broken_uow():
        raise OperationalError("connect", {}, ConnectionRefusedError("database is down"))

    d = Dispatcher(
        "test-consumer", {APPROVED: Recorder(db)}, CATALOGUE, broken_uow, db.inbox, sleep=lambda s: None
    )
    runner = ConsumerRunner(d, consumer_factory=None, producer_factory=None, infrastructure_backoff=0)
    dlq = FakeDlqProducer()

    consumer = process(
        runner, [FakeRecord(approved("m-1"), offset=3), FakeRecord(approved("m-2"), offset=4)], dlq
    )

    assert consumer.commits == []
    assert consumer.seeks == [(("members", 2), 3)]
    assert dlq.sent == []


# -------------------------------------------------------------- the outbox ----


def test_outbox_row_is_committed_with_the_state_change(db):
    approvals = db.metadata.tables["approvals"]

    with db.unit_of_work() as uow:
        uow.connection.execute(approvals.insert().values(member_id="m-1", branch_id="b-7"))
        event = uow.emit(
            APPROVED, "m-1", {"member_id": "m-1", "branch_id": "b-7", "occurred_at": datetime.now(UTC)}
        )
        uow.commit()

    with db.engine.connect() as conn:
        row = conn.execute(select(db.outbox)).one()
    assert (row.event_id, row.topic, row.key, row.type, row.sent_at) == (
        event.id,
        "members",
        "m-1",
        APPROVED,
        None,
    )
    assert count(db, "approvals") == 1


def test_unit_of_work_left_without_commit_leaves_no_outbox_row(db):
    approvals = db.metadata.tables["approvals"]

    with pytest.raises(RuntimeError):
        with db.unit_of_work() as uow:
            uow.connection.execute(approvals.insert().values(member_id="m-1", branch_id="b-7"))
            uow.emit(
                APPROVED, "m-1", {"member_id": "m-1", "branch_id": "b-7", "occurred_at": datetime.now(UTC)}
            )
            raise RuntimeError("request failed after the event was recorded")
    with db.unit_of_work() as uow:
        uow.emit(APPROVED, "m-2", {"member_id": "m-2", "branch_id": "b-7", "occurred_at": datetime.now(UTC)})
        # no commit

    assert count(db, "outbox") == 0
    assert count(db, "approvals") == 0


def test_producer_payload_that_breaks_the_schema_is_refused(db):
    with db.unit_of_work() as uow:
        with pytest.raises(InvalidEventPayload) as caught:
            uow.emit(APPROVED, "m-1", {"member_id": "m-1", "occurred_at": datetime.now(UTC)})

    assert "branch_id" in caught.value.errors
    assert count(db, "outbox") == 0


def test_emitting_an_uncatalogued_type_is_refused(db):
    from events.catalogue import UnknownEventType

    with db.unit_of_work() as uow, pytest.raises(UnknownEventType):
        uow.emit("unionhub.member.teleported.v9", "m-1", {})


# ------------------------------------------------------------ many-handlers ----


def suspended(member_id: str) -> Event:
    payload = {"member_id": member_id, "reason": None, "occurred_at": datetime.now(UTC).isoformat()}
    return Event(type=SUSPENDED, source="/enrolment", subject=member_id, data=payload)


def test_a_many_handler_gets_each_run_of_its_events_in_one_call_and_order_is_kept(db):
    calls: list[tuple[str, list[str]]] = []
    many = ManyHandler(lambda events, uow: calls.append(("approved", [e.subject for e in events])))
    d = Dispatcher(
        "test-consumer",
        {
            APPROVED: many,
            SUSPENDED: lambda e, uow: calls.append(("suspended", [e.subject])),
        },
        CATALOGUE,
        db.unit_of_work,
        db.inbox,
    )
    events = [approved("m-1"), approved("m-2"), suspended("m-1"), approved("m-3"), approved("m-4")]

    results = d.deliver_batch(events)

    assert [outcome for outcome, _ in results] == [Outcome.APPLIED] * 5
    assert calls == [("approved", ["m-1", "m-2"]), ("suspended", ["m-1"]), ("approved", ["m-3", "m-4"])]
    assert count(db, "inbox") == 5


def test_a_many_handler_never_sees_an_event_twice(db):
    calls: list[list[str]] = []
    d = dispatcher(db, ManyHandler(lambda events, uow: calls.append([e.id for e in events])))
    first, second = approved("m-1"), approved("m-2")
    d.deliver(first)

    results = d.deliver_batch([first, second, second])

    assert [outcome for outcome, _ in results] == [Outcome.DUPLICATE, Outcome.APPLIED, Outcome.DUPLICATE]
    assert calls == [[first.id], [second.id]]


def test_a_failing_many_handler_falls_back_to_one_event_at_a_time(db):
    def handle_many(events, uow):
        if any(e.subject == "m-2" for e in events):
            raise RuntimeError("m-2 cannot be projected")
        for e in events:
            Recorder(db)(e, uow)

    d = dispatcher(db, ManyHandler(handle_many), max_attempts=2)

    results = d.deliver_batch([approved("m-1"), approved("m-2"), approved("m-3")])

    assert [outcome for outcome, _ in results] == [Outcome.APPLIED, Outcome.DEAD, Outcome.APPLIED]
    assert count(db, "approvals") == 2
