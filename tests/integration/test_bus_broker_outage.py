"""A broker outage: writes go on, events wait in the outbox, and all arrive exactly once afterwards.

Stops and restarts the local Kafka broker through deploy/local/infra.sh; the broker is always
started again, even when the test fails.
"""

from __future__ import annotations

import subprocess
import time

import pytest
from ledger_service import (
    REPO_ROOT,
    Rig,
    committed_total,
    ledger_figures,
    records_on_topic,
    sent_count,
    wait_until,
    write_credits,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BEFORE, DURING = 50, 500


def infra(action: str) -> None:
    subprocess.run(
        ["bash", str(REPO_ROOT / "deploy/local/infra.sh"), action, "kafka"],
        check=True,
        timeout=300,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
    )


def test_events_written_while_the_broker_is_down_are_applied_exactly_once_when_it_returns(ledger_rig: Rig):
    rig = ledger_rig
    warm_up = write_credits(rig.producer_db, BEFORE)
    relay = rig.start("relay")
    consumer = rig.start("consumer")
    try:
        wait_until(
            lambda: ledger_figures(rig.consumer_db).entries == BEFORE,
            timeout=120,
            what="the pipeline to apply the warm-up events",
        )
        try:
            infra("down")
            down_at = time.monotonic()
            # Writes do not need the broker: they commit, and their events wait in the outbox.
            during = write_credits(rig.producer_db, DURING, per_transaction=10, start=BEFORE)
            # Let the relay try and fail at least once before the broker comes back.
            relay_tried = wait_until(
                lambda: any(
                    sign in relay.stderr.read_text() for sign in ("relay paused", "not acknowledged")
                ),
                timeout=120,
                what="the relay to report the broker missing",
                interval=0.5,
            )
            unsent_while_down = DURING + BEFORE - sent_count(rig.producer_db)
            applied_while_down = ledger_figures(rig.consumer_db).entries
        finally:
            infra("up")
        outage = time.monotonic() - down_at

        wait_until(
            lambda: ledger_figures(rig.consumer_db).entries >= BEFORE + DURING,
            timeout=300,
            what="the events written during the outage to be applied",
            interval=0.5,
        )
        wait_until(
            lambda: (
                sent_count(rig.producer_db) == BEFORE + DURING
                and committed_total(rig.bootstrap, rig.group, rig.topic)
                == records_on_topic(rig.bootstrap, rig.topic)
            ),
            timeout=120,
            what="the consumer to commit every record",
            interval=0.5,
        )
        on_topic = records_on_topic(rig.bootstrap, rig.topic)
        counts = consumer.stop()
    finally:
        for worker in rig.workers:
            worker.stop()

    print(
        f"\nbroker down for {outage:.0f}s; {unsent_while_down} rows waited in the outbox; "
        f"{on_topic} records on the topic; consumer outcomes {counts}"
    )
    assert relay_tried
    assert unsent_while_down == DURING
    assert applied_while_down == BEFORE
    figures = ledger_figures(rig.consumer_db)
    assert figures.entries == BEFORE + DURING
    assert figures.distinct_events == BEFORE + DURING
    assert figures.balance_sum == sum(amount for _, amount in warm_up + during)
    assert counts.get("applied") == BEFORE + DURING
    assert counts.get("applied", 0) + counts.get("duplicate", 0) == on_topic
