"""The Kafka consumer runner: poll, apply each event exactly once, dead-letter what cannot be applied.

Offsets are committed only after the events before them have been applied (their transactions
committed) or dead-lettered (the DLQ write acknowledged). A crash anywhere in between leads to a
redelivery, which the inbox absorbs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from kafka.future import Future
from kafka.structs import OffsetAndMetadata, TopicPartition

from . import metrics
from .catalogue import dlq_name
from .dispatch import Dispatcher, Failure, InfrastructureDown, Outcome
from .envelope import EnvelopeError, from_record

log = logging.getLogger(__name__)

FINAL_COMMIT_TIMEOUT_MS = 5000

# Headers the runner adds to a dead-lettered record; replay strips them again.
ERROR_HEADER_PREFIX = "x-error-"
ORIGIN_HEADERS = ("x-original-topic", "x-original-partition", "x-original-offset", "x-consumer")


# How long one poll's events may take to apply before the rest wait for the next poll. A failing
# event costs seconds of retries, and a batch of hundreds failing alike (a handler's bug) took past
# the poll interval (max_poll_interval_ms): the consumer left its group, its commit failed, and the
# same batch came again and again, each time dead-lettered anew.
BATCH_SECONDS = 60.0


class ConsumerRunner:
    def __init__(
        self,
        dispatcher: Dispatcher,
        consumer_factory: Callable[[list[str]], KafkaConsumer],
        producer_factory: Callable[[], KafkaProducer],
        *,
        max_records: int = 500,
        infrastructure_backoff: float = 2.0,
        batch_seconds: float = BATCH_SECONDS,
    ):
        self.dispatcher = dispatcher
        self.consumer_factory = consumer_factory
        self.producer_factory = producer_factory
        self.max_records = max_records
        self.infrastructure_backoff = infrastructure_backoff
        self.batch_seconds = batch_seconds
        self.counts = {outcome: 0 for outcome in Outcome}
        # Per partition: the latest offset committed asynchronously, and that commit's future.
        self._unconfirmed: dict[TopicPartition, tuple[OffsetAndMetadata, Future]] = {}

    @property
    def topics(self) -> list[str]:
        catalogue = self.dispatcher.catalogue
        return sorted({catalogue.topic_for(t).name for t in self.dispatcher.handlers})

    def run(self, stop: threading.Event) -> None:
        consumer = self.consumer_factory(self.topics)
        dlq = self.producer_factory()
        heartbeat = metrics.LOOP_HEARTBEAT.labels(self.dispatcher.consumer, "consumer")
        try:
            while not stop.is_set():
                heartbeat.set_to_current_time()
                batch = consumer.poll(timeout_ms=200, max_records=self.max_records)
                if batch:
                    self._process_batch(consumer, dlq, batch, stop)
        finally:
            self._commit_unconfirmed(consumer)
            consumer.close(autocommit=False)
            dlq.close(timeout=5)

    def _process_batch(self, consumer, dlq, batch, stop: threading.Event) -> None:
        records = [record for partition_records in batch.values() for record in partition_records]
        parsed = []  # (record, its event or None, why it is no event)
        for record in records:
            try:
                parsed.append((record, from_record(record.value, record.headers), None))
            except EnvelopeError as error:
                parsed.append((record, None, Failure("envelope", str(error), 0)))
        readable = [(record, event) for record, event, _ in parsed if event is not None]
        deadline = time.monotonic() + self.batch_seconds
        try:
            with metrics.CONSUMER_BATCH_SECONDS.labels(self.dispatcher.consumer).time():
                results = self.dispatcher.deliver_batch([event for _, event in readable], deadline=deadline)
        except InfrastructureDown as error:
            log.error("consumer database unreachable (%s); pausing, will redeliver", error)
            # Nothing of this batch is committed: rewind so all of it comes again; what was applied
            # meanwhile is in the inbox and will be skipped.
            for tp, partition_records in batch.items():
                consumer.seek(tp, partition_records[0].offset)
            stop.wait(self.infrastructure_backoff)
            return
        result_of = {id(record): result for (record, _), result in zip(readable, results, strict=True)}
        # Where each partition resumes: at its first event left untried (past the batch's deadline),
        # the records after it in that partition untouched too, so that they keep their order.
        resume: dict[TopicPartition, int] = {}
        for record, event, unreadable in parsed:
            tp = TopicPartition(record.topic, record.partition)
            if tp in resume:
                continue
            if unreadable is not None:
                self._dead_letter(dlq, record, unreadable, event_type="unknown")
                continue
            result = result_of[id(record)]
            if result is None:
                resume[tp] = record.offset
                continue
            outcome, failure = result
            self.counts[outcome] += 1
            metrics.EVENTS_CONSUMED.labels(self.dispatcher.consumer, event.type, outcome.value).inc()
            if failure is not None:
                self._dead_letter(dlq, record, failure, event_type=event.type)
        for tp, offset in resume.items():
            consumer.seek(tp, offset)
        # Only now, with every event applied or dead-lettered, may the offsets move past them. The
        # commit is asynchronous: waiting a round trip to the broker for every batch idled the loop
        # for a quarter of its time, and a commit lost to a crash or a rebalance only means that
        # those events come again, which the inbox absorbs.
        offsets = {
            tp: OffsetAndMetadata(resume.get(tp, partition_records[-1].offset + 1), "", -1)
            for tp, partition_records in batch.items()
        }
        future = consumer.commit_async(offsets, callback=_log_failed_commit)
        self._unconfirmed.update((tp, (meta, future)) for tp, meta in offsets.items())
        self._observe_lag(consumer, offsets)

    def _observe_lag(self, consumer, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        # The partition's end as the latest fetch response gave it: no extra request to the broker.
        for tp, meta in offsets.items():
            end = consumer.highwater(tp)
            if end is not None:
                lag = max(end - meta.offset, 0)
                metrics.CONSUMER_LAG.labels(self.dispatcher.consumer, tp.topic, str(tp.partition)).set(lag)

    def _commit_unconfirmed(self, consumer) -> None:
        """On the way out, commit and wait for what the broker has not confirmed yet, so a clean
        restart does not redeliver the last batches."""
        assigned = consumer.assignment()
        offsets = {
            tp: meta
            for tp, (meta, future) in self._unconfirmed.items()
            if tp in assigned and not future.succeeded()
        }
        self._unconfirmed.clear()
        if offsets:
            try:
                # Bounded: a stop while the broker is away must not hang until it returns.
                consumer.commit(offsets, timeout_ms=FINAL_COMMIT_TIMEOUT_MS)
            except KafkaError as error:
                log.info("final offset commit failed (%s); the events after them will come again", error)

    def _dead_letter(self, dlq: KafkaProducer, record, failure: Failure, *, event_type: str) -> None:
        headers = [(k, v) for k, v in record.headers or [] if not is_runner_header(k)]
        headers += [
            ("x-original-topic", record.topic.encode()),
            ("x-original-partition", str(record.partition).encode()),
            ("x-original-offset", str(record.offset).encode()),
            ("x-consumer", self.dispatcher.consumer.encode()),
            (f"{ERROR_HEADER_PREFIX}kind", failure.kind.encode()),
            (f"{ERROR_HEADER_PREFIX}message", failure.error[:2000].encode()),
            (f"{ERROR_HEADER_PREFIX}attempts", str(failure.attempts).encode()),
            (f"{ERROR_HEADER_PREFIX}at", datetime.now(UTC).isoformat().encode()),
        ]
        # Wait for the acknowledgement: the offset commit that follows must not outrun the DLQ write.
        dlq.send(dlq_name(record.topic), key=record.key, value=record.value, headers=headers).get(timeout=30)
        metrics.EVENTS_DEAD_LETTERED.labels(self.dispatcher.consumer, event_type, failure.kind).inc()
        log.error(
            "dead-lettered %s from %s[%d]@%d: %s",
            event_type,
            record.topic,
            record.partition,
            record.offset,
            failure.error,
        )


def _log_failed_commit(offsets, response) -> None:
    if isinstance(response, Exception):
        log.info("offset commit failed (%s); the events after them will come again", response)


def is_runner_header(name: str) -> bool:
    return name.startswith(ERROR_HEADER_PREFIX) or name in ORIGIN_HEADERS


def default_consumer(bootstrap: str, group_id: str, **overrides) -> Callable[[list[str]], KafkaConsumer]:
    def make(topics: list[str]) -> KafkaConsumer:
        config = dict(
            bootstrap_servers=bootstrap,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_interval_ms=300_000,
            # A consumer that dies without leaving the group (SIGKILL, a lost node) keeps its
            # partitions until the broker stops hearing from it: kafka-python's 45 s default held a
            # service's events that long in the fault runs (docs/reliability.md, "Faults"). Heartbeats
            # come from the client's own thread, so a long batch is not silence; a rebalance after a
            # stall of over 10 s only redelivers, which the inbox absorbs.
            session_timeout_ms=10_000,
            heartbeat_interval_ms=3_000,
            # While the broker is away the client's reconnect backoff doubles up to 30 s by default, and
            # the events waited up to that long after it was back; 1 s keeps the retries cheap.
            reconnect_backoff_max_ms=1_000,
            client_id=f"{group_id}-consumer",
        )
        config.update(overrides)
        return with_topic_metadata(KafkaConsumer(*topics, **config), topics)

    return make


def with_topic_metadata(consumer: KafkaConsumer, topics: list[str]) -> KafkaConsumer:
    """Load the subscribed topics' metadata before the first poll joins the group.

    Without it the first join assigns nothing ("No partition metadata"), and the metadata arriving
    right after forces a second join; kafka-python 3.0 can drop that second join's result when it
    completes after a poll timed out, leaving the consumer assigned nothing, with heartbeats off,
    for good (seen in about 1 start in 30 against a local broker).
    """
    for topic in topics:
        consumer.partitions_for_topic(topic)
    return consumer
