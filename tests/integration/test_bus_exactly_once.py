"""Exactly-once application across crashes: 10,000 events, outbox → relay → Kafka → consumer.

The ledger test service applies credits non-idempotently (a second application would add a second
ledger row and double the amount), so only the bus's inbox keeps the figures right. Each test
SIGKILLs one worker part-way through and restarts it, then checks every event was applied exactly
once and that the duplicates Kafka delivered add up with what the inbox absorbed.
"""

from __future__ import annotations

import pytest
from ledger_service import (
    Rig,
    TopicCounter,
    committed_total,
    ledger_figures,
    records_on_topic,
    sent_count,
    settled,
    wait_for_quiet,
    wait_until,
    write_credits,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = 10_000


def wait_until_consumer_caught_up(rig: Rig, timeout: float = 300) -> int:
    """Wait until the relay sent every row and the group committed every record on the topic."""
    wait_until(
        lambda: sent_count(rig.producer_db) == EVENTS,
        timeout=timeout,
        what="the relay to send every outbox row",
    )

    def caught_up():
        on_topic = records_on_topic(rig.bootstrap, rig.topic)
        return on_topic if committed_total(rig.bootstrap, rig.group, rig.topic) == on_topic else 0

    return wait_until(caught_up, timeout=timeout, what="the consumer to commit every record", interval=0.5)


def assert_each_event_applied_once(rig: Rig, written: list[tuple[str, int]]) -> None:
    figures = ledger_figures(rig.consumer_db)
    assert figures.entries == EVENTS
    assert figures.distinct_events == EVENTS  # no event_id appears twice
    assert figures.balance_sum == sum(amount for _, amount in written)


def test_relay_killed_mid_batch_and_restarted_applies_every_event_exactly_once(ledger_rig: Rig):
    rig = ledger_rig
    written = write_credits(rig.producer_db, EVENTS)
    consumer = rig.start("consumer")
    on_topic_now = TopicCounter(rig.bootstrap, rig.topic)
    kills = []
    try:
        # Kill the relay while Kafka holds rows of its batch that it has not marked sent yet, so the
        # restarted relay publishes them again. The window is a flush long; try a few times.
        for _ in range(5):
            relay = rig.start("relay")
            wait_until(
                lambda: on_topic_now() > sent_count(rig.producer_db),
                timeout=120,
                what="the relay to have a batch in flight",
                interval=0.002,
            )
            relay.sigkill()
            wait_for_quiet(rig.producer_db)
            kills.append((sent_count(rig.producer_db), settled(on_topic_now)))
            if kills[-1][1] > kills[-1][0]:
                break
        sent_at_kill, on_topic_at_kill = kills[-1]
        assert on_topic_at_kill > sent_at_kill, f"never caught the relay mid-batch: {kills}"
        assert sent_at_kill < EVENTS

        rig.start("relay")
        on_topic = wait_until_consumer_caught_up(rig)
        counts = consumer.stop()
    finally:
        on_topic_now.close()
        for worker in rig.workers:
            worker.stop()

    resent = on_topic - EVENTS
    print(
        f"\nrelay killed {len(kills)} time(s); (rows marked sent, records on the topic) at each kill: "
        f"{kills}; "
        f"{on_topic} records on the topic in the end ({resent} published twice); consumer outcomes {counts}"
    )
    assert resent == on_topic_at_kill - sent_at_kill  # exactly the published-but-unmarked rows went again
    assert counts.get("applied") == EVENTS
    assert counts.get("duplicate", 0) == resent  # every record published twice was absorbed by the inbox
    assert counts.get("dead", 0) == 0
    assert_each_event_applied_once(rig, written)


def test_consumer_killed_mid_batch_and_restarted_applies_every_event_exactly_once(ledger_rig: Rig):
    rig = ledger_rig
    written = write_credits(rig.producer_db, EVENTS)
    rig.start("relay")
    first = rig.start("consumer")
    try:
        wait_until(
            lambda: ledger_figures(rig.consumer_db).entries >= 500,
            timeout=180,
            what="the consumer to apply its first events",
            interval=0.02,
        )
        first.sigkill()
        wait_for_quiet(rig.consumer_db)
        applied_by_first = ledger_figures(rig.consumer_db).entries
        committed_at_kill = settled(lambda: committed_total(rig.bootstrap, rig.group, rig.topic))
        assert 0 < applied_by_first < EVENTS, "the consumer finished before it could be killed"

        second = rig.start("consumer")
        on_topic = wait_until_consumer_caught_up(rig, timeout=400)
        counts = second.stop()
    finally:
        for worker in rig.workers:
            worker.stop()

    redelivered = on_topic - committed_at_kill
    print(
        f"\nconsumer killed after applying {applied_by_first} events with offsets committed up to "
        f"{committed_at_kill}; the restarted consumer was redelivered {redelivered} records: "
        f"outcomes {counts}; {on_topic} records on the topic"
    )
    assert committed_at_kill <= applied_by_first  # offsets are committed only after the events are applied
    assert on_topic == EVENTS  # the relay ran undisturbed: each event is on the topic once
    assert counts.get("applied") == EVENTS - applied_by_first
    # Applied by the first consumer but not yet committed: delivered again and absorbed by the inbox.
    assert counts.get("duplicate", 0) == applied_by_first - committed_at_kill
    assert counts.get("applied", 0) + counts.get("duplicate", 0) == redelivered
    assert_each_event_applied_once(rig, written)
