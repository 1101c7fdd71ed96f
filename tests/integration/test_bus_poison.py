"""Poison events and schema tolerance on a real broker: DLQ, error headers, replay once fixed."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import pytest
from ledger_service import (
    TYPE,
    Rig,
    committed_total,
    entries_for,
    headers_of,
    ledger_figures,
    produce_raw,
    read_topic,
    records_on_topic,
    wait_until,
    write_credit,
)

from events.dispatch import Dispatcher
from events.dlq import list_dead_letters, replay
from events.envelope import Event
from events.relay import default_producer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MAX_ATTEMPTS = inspect.signature(Dispatcher).parameters["max_attempts"].default


def dead_letters(rig: Rig, count: int) -> list:
    return wait_until(
        lambda: (
            (records := read_topic(rig.bootstrap, f"{rig.topic}.dlq")) and len(records) >= count and records
        ),
        timeout=120,
        what=f"{count} record(s) on {rig.topic}.dlq",
        interval=0.5,
    )


def wait_until_consumer_caught_up(rig: Rig) -> None:
    wait_until(
        lambda: (
            committed_total(rig.bootstrap, rig.group, rig.topic) == records_on_topic(rig.bootstrap, rig.topic)
        ),
        timeout=120,
        what="the consumer to commit every record on the topic",
        interval=0.5,
    )


def test_poison_event_is_dead_lettered_after_retries_and_applied_once_after_replay(ledger_rig: Rig, tmp_path):
    rig = ledger_rig
    rig.fixed_flag = tmp_path / "fixed"
    # One account, so one partition: the events after the poison one queue behind it.
    before = [write_credit(rig.producer_db, "acct-poison", 10) for _ in range(5)]
    poison = write_credit(rig.producer_db, "acct-poison", 1000, poison=True)
    after = [write_credit(rig.producer_db, "acct-poison", 10) for _ in range(20)]
    rig.start("relay")
    consumer = rig.start("consumer")
    try:
        [record] = dead_letters(rig, 1)
        wait_until(
            lambda: ledger_figures(rig.consumer_db).entries == 25, timeout=120, what="the 25 healthy events"
        )

        headers = headers_of(record)
        assert headers["ce_id"] == poison
        assert headers["x-error-kind"] == "handler"
        assert headers["x-error-attempts"] == str(MAX_ATTEMPTS)
        assert headers["x-error-message"].startswith("PoisonError: cannot apply poison credit")
        assert headers["x-original-topic"] == rig.topic
        assert headers["x-consumer"] == rig.group
        assert {"x-original-partition", "x-original-offset", "x-error-at"} <= headers.keys()
        assert headers_of(record)["ce_type"] == TYPE
        assert record.key == b"acct-poison"
        assert entries_for(rig.consumer_db, poison) == 0  # its failed attempts left nothing behind
        assert all(entries_for(rig.consumer_db, e) == 1 for e in before + after)  # the consumer carried on
        retries = consumer.stderr.read_text().count(f"failed (attempt {MAX_ATTEMPTS - 1}/{MAX_ATTEMPTS})")
        assert retries == 1

        [listed] = list_dead_letters(rig.bootstrap, rig.topic)
        assert (listed.event_id, listed.kind, listed.original_topic) == (poison, "handler", rig.topic)

        rig.fixed_flag.touch()  # the cause is fixed
        producer = lambda: default_producer(rig.bootstrap)  # noqa: E731
        first = replay(rig.bootstrap, rig.topic, producer)
        wait_until(lambda: entries_for(rig.consumer_db, poison) == 1, timeout=120, what="the replayed event")
        second = replay(rig.bootstrap, rig.topic, producer)
        wait_until_consumer_caught_up(rig)
        counts = consumer.stop()
    finally:
        for worker in rig.workers:
            worker.stop()

    print(f"\nreplayed {first} then {second}; consumer outcomes {counts}")
    assert (first, second) == (1, 0)
    assert entries_for(rig.consumer_db, poison) == 1
    figures = ledger_figures(rig.consumer_db)
    assert (figures.entries, figures.distinct_events, figures.balance_sum) == (26, 26, 25 * 10 + 1000)
    assert counts == {"applied": 26, "dead": 1}
    assert len(read_topic(rig.bootstrap, f"{rig.topic}.dlq")) == 1  # nothing dead-lettered again


def test_unknown_field_is_tolerated_and_missing_field_is_dead_lettered_as_schema_error(ledger_rig: Rig):
    rig = ledger_rig
    now = datetime.now(UTC).isoformat()

    def credit(**data) -> Event:
        return Event(type=TYPE, source="/test/newer-producer", subject="acct-schema", data=data)

    extra = credit(account="acct-schema", amount=7, occurred_at=now, currency="CNY", memo={"by": "v2"})
    missing = credit(account="acct-schema", occurred_at=now)  # no amount
    following = credit(account="acct-schema", amount=3, occurred_at=now)
    for event in (extra, missing, following):
        produce_raw(rig.bootstrap, rig.topic, event)
    consumer = rig.start("consumer")
    try:
        [record] = dead_letters(rig, 1)
        wait_until(
            lambda: ledger_figures(rig.consumer_db).entries == 2, timeout=120, what="the two valid events"
        )
        wait_until_consumer_caught_up(rig)
        counts = consumer.stop()
    finally:
        consumer.stop()

    headers = headers_of(record)
    print(f"\ndead-lettered: {headers['x-error-message']}; consumer outcomes {counts}")
    assert headers["ce_id"] == missing.id
    assert headers["x-error-kind"] == "schema"
    assert headers["x-error-attempts"] == "0"  # never retried
    assert "'amount': ['Missing data for required field.']" in headers["x-error-message"]
    assert TYPE in headers["x-error-message"]
    assert "failed (attempt" not in consumer.stderr.read_text()
    assert entries_for(rig.consumer_db, extra.id) == 1
    assert entries_for(rig.consumer_db, following.id) == 1
    assert entries_for(rig.consumer_db, missing.id) == 0
    assert ledger_figures(rig.consumer_db).balance_sum == 10
    assert counts == {"applied": 2, "dead": 1}
