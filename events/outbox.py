"""Transactional outbox and the relay that moves its rows to Kafka.

Writers call ``append`` inside their own transaction. The relay publishes unsent rows in order with
acks=all and the idempotent producer, and marks a row sent only after the broker acknowledged it.
If the relay dies between the acknowledgement and the mark, the row is published again on restart:
delivery is at-least-once, and the consumers' inbox turns that into exactly-once application.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from kafka import KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy import Connection, Engine, Table, func, select, update

from .catalogue import Catalogue
from .envelope import Event, encode_data, to_headers

log = logging.getLogger(__name__)


class InvalidEventPayload(ValueError):
    def __init__(self, event_type: str, errors: dict):
        super().__init__(f"{event_type}: {errors}")
        self.errors = errors


def serialise(event: Event, catalogue: Catalogue) -> dict:
    """The outbox row for an event, its payload dumped and checked against the catalogue schema."""
    topic = catalogue.topic_for(event.type)
    schema = catalogue.schema_for(event.type)
    payload = schema.dump(event.data)
    errors = schema.validate(payload)
    if errors:
        raise InvalidEventPayload(event.type, errors)
    return {
        "event_id": event.id,
        "topic": topic.name,
        "key": event.key,
        "type": event.type,
        "headers": json.dumps([[k, v.decode()] for k, v in to_headers(event)]),
        "payload": encode_data(payload).decode(),
        "created_at": datetime.now(UTC),
    }


def append(conn: Connection, outbox: Table, event: Event, catalogue: Catalogue) -> None:
    conn.execute(outbox.insert().values(**serialise(event, catalogue)))


def default_producer(bootstrap: str, **overrides) -> KafkaProducer:
    config = dict(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_block_ms=5000,
        request_timeout_ms=15000,
        delivery_timeout_ms=30000,
        client_id="unionhub-relay",
    )
    config.update(overrides)
    return KafkaProducer(**config)


class Relay:
    def __init__(
        self,
        engine: Engine,
        outbox: Table,
        producer_factory: Callable[[], KafkaProducer],
        *,
        batch_size: int = 500,
        idle_sleep: float = 0.02,
        flush_timeout: float = 30.0,
    ):
        self.engine = engine
        self.outbox = outbox
        self.producer_factory = producer_factory
        self.batch_size = batch_size
        self.idle_sleep = idle_sleep
        self.flush_timeout = flush_timeout
        self._producer: KafkaProducer | None = None
        self.published = 0

    def _ensure_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self.producer_factory()
        return self._producer

    def _drop_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:  # the producer is already broken; we only want its sockets gone
                log.debug("closing a broken producer failed", exc_info=True)
            self._producer = None

    def publish_batch(self) -> int:
        """Publish the next batch of unsent rows; return how many the broker acknowledged."""
        o = self.outbox
        with self.engine.begin() as conn:
            # FOR UPDATE (on PostgreSQL) makes a second relay wait rather than send the same rows,
            # and keeps rows in order: it never skips ahead of a batch in flight.
            rows = conn.execute(
                select(o.c.seq, o.c.topic, o.c.key, o.c.headers, o.c.payload)
                .where(o.c.sent_at.is_(None))
                .order_by(o.c.seq)
                .limit(self.batch_size)
                .with_for_update()
            ).all()
            if not rows:
                return 0
            producer = self._ensure_producer()
            futures = [
                (
                    row.seq,
                    producer.send(
                        row.topic,
                        key=row.key.encode(),
                        value=row.payload.encode(),
                        headers=[(k, v.encode()) for k, v in json.loads(row.headers)],
                    ),
                )
                for row in rows
            ]
            producer.flush(timeout=self.flush_timeout)
            acked = []
            for seq, future in futures:
                try:
                    future.get(timeout=0)
                except Exception as exc:
                    # Later rows may have been acknowledged, but stopping at the first failure keeps
                    # each key's order; those rows go out again and consumers drop the repeats.
                    log.warning("outbox row %s not acknowledged: %s", seq, exc)
                    break
                acked.append(seq)
            if acked:
                conn.execute(update(o).where(o.c.seq.in_(acked)).values(sent_at=datetime.now(UTC)))
            if len(acked) < len(rows):
                self._drop_producer()
        self.published += len(acked)
        return len(acked)

    def run(self, stop: threading.Event, *, max_backoff: float = 5.0) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                sent = self.publish_batch()
                backoff = 0.2
            except Exception as exc:
                # Kafka (or the database) is down: writers keep succeeding where they can, and their
                # events wait in the outbox until both answer again.
                level = logging.WARNING if isinstance(exc, KafkaError) else logging.ERROR
                log.log(
                    level,
                    "relay paused (%s); retrying in %.1fs",
                    exc,
                    backoff,
                    exc_info=level == logging.ERROR,
                )
                self._drop_producer()
                stop.wait(backoff)
                backoff = min(backoff * 2, max_backoff)
                continue
            if sent == 0:
                stop.wait(self.idle_sleep)
        self._drop_producer()

    def pending(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(self.outbox).where(self.outbox.c.sent_at.is_(None))
            ).scalar_one()
