"""The relay that moves the outbox's rows to Kafka.

It publishes unsent rows in order with acks=all and the idempotent producer, and marks a row sent
only after the broker acknowledged it. If the relay dies between the acknowledgement and the mark,
the row is published again on restart: delivery is at-least-once, and the consumers' inbox turns
that into exactly-once application. One relay per service database publishes at a time (a session
advisory lock).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from kafka import KafkaProducer
from kafka.errors import KafkaError
from sqlalchemy import BigInteger, Connection, Engine, Table, any_, bindparam, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError

from . import metrics

log = logging.getLogger(__name__)

# Any constant works: each service has a database of its own, with one outbox in it.
RELAY_LOCK_KEY = 0x756E696F6E687562  # "unionhub"
# Whether this session holds the relay's lock: pg_locks shows a bigint key as its two halves.
_HOLDS_LOCK = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid = :high AND objid = :low AND objsubid = 1)"
)


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
        service: str,
        batch_size: int = 500,
        idle_sleep: float = 0.02,
        flush_timeout: float = 30.0,
        backlog_interval: float = 5.0,
    ):
        self.engine = engine
        self.outbox = outbox
        self.producer_factory = producer_factory
        self.service = service
        self.batch_size = batch_size
        self.idle_sleep = idle_sleep
        self.flush_timeout = flush_timeout
        self.backlog_interval = backlog_interval
        self._producer: KafkaProducer | None = None
        self._leader: Connection | None = None  # on PostgreSQL, the connection holding the relay's lock
        self._backlog_observed_at = float("-inf")
        metrics.OUTBOX_PUBLISHED.labels(service)  # the series exists from the start, at 0

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

    @contextmanager
    def _session(self, *, writes: bool = False) -> Iterator[Connection]:
        """A short transaction on the outbox. On PostgreSQL, once this relay leads, it runs on the
        connection that holds the lead: the lock lives and dies with that session, so a relay whose
        session a database restart ended fails here instead of publishing beside the relay that took
        the lock over, and takes its turn to lead again (``run``)."""
        if self._leader is None:
            # On SQLite only a writing transaction takes the database's write lock.
            with self.engine.begin() if writes else self.engine.connect() as conn:
                yield conn
            return
        try:
            yield self._leader
            self._leader.commit()
        except BaseException:
            try:
                self._leader.rollback()
            except SQLAlchemyError:  # the session is gone; the first error is the one to report
                pass
            raise

    def publish_batch(self) -> int:
        """Publish the next batch of unsent rows; return how many the broker acknowledged."""
        o = self.outbox
        # No transaction stays open while Kafka is asked: on SQLite that would hold the write lock
        # and stall every request for as long as the broker takes to answer (or to time out).
        with self._session() as conn:
            rows = conn.execute(
                select(o.c.seq, o.c.topic, o.c.key, o.c.headers, o.c.payload)
                .where(o.c.sent_at.is_(None))
                .order_by(o.c.seq)
                .limit(self.batch_size)
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
            with self._session(writes=True) as conn:
                conn.execute(self._mark_sent(conn), {"seqs": acked, "now": datetime.now(UTC)})
        if len(acked) < len(rows):
            self._drop_producer()
        metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(acked))
        return len(acked)

    def _mark_sent(self, conn: Connection):
        # On PostgreSQL the batch's seqs go as one array: an IN list of 500 would be a new query
        # text for every batch size, parsed and planned each time.
        seq = self.outbox.c.seq
        if conn.dialect.name == "postgresql":
            batch = seq == any_(bindparam("seqs", type_=postgresql.ARRAY(BigInteger)))
        else:
            batch = seq.in_(bindparam("seqs", expanding=True))
        return update(self.outbox).where(batch).values(sent_at=bindparam("now"))

    def _lead(self, stop: threading.Event) -> Connection | None:
        """On PostgreSQL, wait to become the one relay of this database; return the lock's connection.

        Two relays reading the same outbox would publish rows out of order. A session advisory lock
        lets any number of relays run for availability while one publishes; it is released when
        that relay's connection closes, including when the process dies or the database restarts.
        """
        if self.engine.dialect.name != "postgresql":
            return None
        while not stop.is_set():
            try:
                conn = self.engine.connect()
            except SQLAlchemyError as exc:
                log.warning("relay cannot reach its database to take the lead (%s)", exc)
                stop.wait(1.0)
                continue
            try:
                while not stop.is_set():
                    leads = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": RELAY_LOCK_KEY})
                    if leads.scalar():
                        conn.commit()
                        return conn
                    conn.commit()
                    stop.wait(1.0)
            except SQLAlchemyError as exc:
                log.warning("relay lost its database while waiting to lead (%s)", exc)
                stop.wait(1.0)
            conn.close()
        return None

    def _still_leading(self) -> bool:
        # Asked of pg_locks, not by a mere ping: after a lost session SQLAlchemy reconnects the same
        # Connection object to a new session, which holds no lock.
        try:
            held = self._leader.execute(
                _HOLDS_LOCK, {"high": RELAY_LOCK_KEY >> 32, "low": RELAY_LOCK_KEY & 0xFFFFFFFF}
            )
            leading = bool(held.scalar())
            self._leader.commit()
            return leading
        except SQLAlchemyError:
            return False

    def run(self, stop: threading.Event, *, max_backoff: float = 5.0) -> None:
        self._leader = self._lead(stop)
        try:
            self._loop(stop, max_backoff)
        finally:
            if self._leader is not None:
                self._leader.close()
                self._leader = None

    def _loop(self, stop: threading.Event, max_backoff: float) -> None:
        backoff = 0.2
        heartbeat = metrics.LOOP_HEARTBEAT.labels(self.service, "relay")
        while not stop.is_set():
            heartbeat.set_to_current_time()
            self.observe_backlog()
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
                if self._leader is not None and not self._still_leading():
                    # The session went, and the lock with it: another relay may lead now.
                    self._leader.close()
                    self._leader = self._lead(stop)
                continue
            if sent == 0:
                stop.wait(self.idle_sleep)
        self._drop_producer()

    def observe_backlog(self, *, now: float | None = None) -> None:
        """Set the backlog gauges, at most once per ``backlog_interval``, whether Kafka answers or
        not (a backlog matters most while it does not). The count reads the partial index of unsent
        rows, so it stays cheap however many sent rows wait for pruning."""
        now = time.monotonic() if now is None else now
        if now - self._backlog_observed_at < self.backlog_interval:
            return
        self._backlog_observed_at = now
        o = self.outbox
        try:
            with self.engine.connect() as conn:
                count, oldest = conn.execute(
                    select(func.count(), func.min(o.c.created_at)).where(o.c.sent_at.is_(None))
                ).one()
        except SQLAlchemyError as exc:
            log.warning("cannot read the outbox backlog: %s", exc)
            return
        if oldest is not None and oldest.tzinfo is None:  # SQLite keeps no offset; we write UTC
            oldest = oldest.replace(tzinfo=UTC)
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        metrics.OUTBOX_BACKLOG.labels(self.service).set(count)
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(max(age, 0.0))
