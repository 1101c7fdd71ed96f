"""Dead-letter topics: inspect them, and replay their events once the cause is fixed.

Replay publishes each dead-lettered record back to its original topic with its original key,
value and CloudEvents headers, so it reaches every consumer again. Consumers that had applied the
event already find its id in their inbox and skip it; the one that failed gets another go.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from .consumer import is_runner_header, with_topic_metadata


@dataclass(frozen=True)
class DeadLetter:
    offset: int
    original_topic: str
    consumer: str
    event_type: str
    event_id: str
    kind: str
    error: str


def _headers(record) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in record.headers or []}


def _read(dlq_consumer: KafkaConsumer, idle_ms: int = 1500):
    """Yield records until the topic has been read to its end."""
    while True:
        batch = dlq_consumer.poll(timeout_ms=idle_ms)
        if not batch:
            return
        for records in batch.values():
            yield from records


def list_dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    consumer = KafkaConsumer(
        f"{topic}.dlq",
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    try:
        found = []
        for record in _read(consumer):
            h = _headers(record)
            found.append(
                DeadLetter(
                    offset=record.offset,
                    original_topic=h.get("x-original-topic", topic),
                    consumer=h.get("x-consumer", ""),
                    event_type=h.get("ce_type", ""),
                    event_id=h.get("ce_id", ""),
                    kind=h.get("x-error-kind", ""),
                    error=h.get("x-error-message", ""),
                )
            )
        return found
    finally:
        consumer.close()


def replay(
    bootstrap: str,
    topic: str,
    producer_factory: Callable[[], KafkaProducer],
    *,
    group_id: str = "unionhub-dlq-replay",
) -> int:
    """Send every not-yet-replayed record of ``<topic>.dlq`` back to its original topic.

    The replay group's committed offset remembers how far replay got, so running it twice does not
    send anything twice; records dead-lettered again after a replay are replayed by the next run.
    """
    consumer = KafkaConsumer(
        f"{topic}.dlq",
        bootstrap_servers=bootstrap,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    with_topic_metadata(consumer, [f"{topic}.dlq"])
    producer = producer_factory()
    replayed = 0
    try:
        for record in _read(consumer):
            h = _headers(record)
            headers = [(k, v) for k, v in record.headers or [] if not is_runner_header(k)]
            headers.append(("x-replay-id", str(uuid.uuid4()).encode()))
            producer.send(
                h.get("x-original-topic", topic), key=record.key, value=record.value, headers=headers
            ).get(timeout=30)
            replayed += 1
            consumer.commit(
                {TopicPartition(record.topic, record.partition): OffsetAndMetadata(record.offset + 1, "", -1)}
            )
        return replayed
    finally:
        consumer.close(autocommit=False)
        producer.close(timeout=5)
