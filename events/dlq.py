"""Dead-letter topics: inspect them, and replay their events once the cause is fixed.

Replay publishes each dead-lettered record back to its original topic with its original key,
value and CloudEvents headers, so it reaches every consumer again. Consumers that had applied the
event already find its id in their inbox and skip it; the one that failed gets another go.
"""

from __future__ import annotations

import time
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


def _read(consumer: KafkaConsumer, timeout: float = 60.0):
    """Yield records up to the end the topic had once our partitions were assigned.

    Reading to known end offsets, not "until a poll comes back empty", so a slow group join can
    never pass for an empty dead-letter topic.
    """
    deadline = time.monotonic() + timeout
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise TimeoutError("no partition of the dead-letter topic was assigned")
        for records in consumer.poll(timeout_ms=200).values():
            yield from records
    ends = consumer.end_offsets(list(consumer.assignment()))
    while any(consumer.position(tp) < end for tp, end in ends.items()):
        if time.monotonic() > deadline:
            raise TimeoutError("the dead-letter topic was not read to its end in time")
        for records in consumer.poll(timeout_ms=200).values():
            yield from records


def list_dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    consumer = KafkaConsumer(
        f"{topic}.dlq",
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
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
