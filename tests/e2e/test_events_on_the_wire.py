"""The events a journey causes, as they are on Kafka, against the running system.

One consumer reads the four topics from their current end while a worker's journey runs through the
gateway (journey.py): join, book, check in, redeem, volunteer at a station, be suspended. Each
request that causes events carries a W3C traceparent of its own. Every CloudEvent the journey
should cause for its member and its station is on the wire exactly once, keyed by its aggregate,
and carries the trace id of the request that caused it. Then the shift's completion is delivered
again, as a relay that crashed before marking it sent would, and no second voucher follows.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from events.envelope import Event, from_record
from schemas.events import benefits as b
from schemas.events import courses as c
from schemas.events import members as m
from schemas.events import stations as s
from services.registry import SERVICES
from tests.e2e import journey as steps
from tests.e2e.journey import Journey, Place, Worker
from tests.support import KAFKA_BOOTSTRAP, START_SYSTEM, infra_missing

TOPICS = ("members", "courses", "benefits", "stations")
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
MERCHANTS_WORKER_METRICS = os.environ.get(
    "UNIONHUB_MERCHANTS_WORKER_METRICS_URL",
    f"http://127.0.0.1:{SERVICES['merchants'].worker_metrics_port}/metrics",
)

# Each event type the journey causes for its member or station, and the step whose request caused it.
CAUSED_BY_REQUESTS = {
    m.JOINED: "join",
    c.BOOKED: "book",
    c.CHECKED_IN: "check_in",
    b.REDEEMED: "redeem",  # once, though the till sent the sale twice with one Idempotency-Key
    s.STATION_OPENED: "shift_checkin",
    s.SHIFT_STARTED: "shift_checkin",
    s.SHIFT_COMPLETED: "checkout",
    s.STATION_CLOSED: "checkout",
    m.SUSPENDED: "suspend",
}
# Events a service's consumer emits when it handles another event: the step whose request caused
# the handled event.
CAUSED_BY_EVENTS = {
    b.VOUCHER_GRANTED: "checkout",  # merchants, on shift.completed
    c.CANCELLED: "suspend",  # courses, on member.suspended: the seat goes back
}
EXPECTED = {**CAUSED_BY_REQUESTS, **CAUSED_BY_EVENTS}


@dataclass
class Seen:
    topic: str
    key: str | None
    event: Event
    record: object  # the Kafka record, to deliver again


@dataclass
class Walk:
    journey: Journey
    place: Place
    worker: Worker
    consumer: object
    seen: list[Seen] = field(default_factory=list)

    def ours(self, seen: Seen) -> bool:
        e = seen.event
        return e.subject in (self.worker.member_id, self.place.station["id"]) or (
            e.data.get("member_id") == self.worker.member_id
        )

    def read(self, seconds: float, *, until_types: set[str] | None = None) -> None:
        """Poll for ``seconds``, or until every type in ``until_types`` has been seen."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if until_types is not None and until_types <= {x.event.type for x in self.seen}:
                return
            for records in self.consumer.poll(timeout_ms=200).values():
                for record in records:
                    found = Seen(
                        record.topic, _text(record.key), from_record(record.value, record.headers), record
                    )
                    if self.ours(found):
                        self.seen.append(found)

    def of_type(self, event_type: str) -> list[Seen]:
        return [x for x in self.seen if x.event.type == event_type]


def _text(raw: bytes | None) -> str | None:
    return raw.decode() if raw is not None else None


@contextmanager
def topics_tail(topics: tuple[str, ...]) -> Iterator[object]:
    """One consumer of every partition of ``topics``, at their current end (tests/support.py
    topic_tail does this for one topic)."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(bootstrap_servers=KAFKA_BOOTSTRAP, group_id=None, enable_auto_commit=False)
        partitions = {topic: consumer.partitions_for_topic(topic) for topic in topics}
    except KafkaError as error:
        infra_missing(f"Kafka at {KAFKA_BOOTSTRAP} does not answer ({error})", hint=START_SYSTEM)
    try:
        missing = [topic for topic, found in partitions.items() if not found]
        assert not missing, f"topics {missing} do not exist; create them with `unionhub topics`"
        assigned = [TopicPartition(t, p) for t, found in partitions.items() for p in sorted(found)]
        consumer.assign(assigned)
        for tp, offset in consumer.end_offsets(assigned).items():
            consumer.seek(tp, offset)
        yield consumer
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def walk(gateway, admin) -> Iterator[Walk]:
    with topics_tail(TOPICS) as consumer:
        j = Journey(gateway, admin)
        place = steps.set_up(j)
        worker = steps.join(j, place)
        steps.check_in(j, place, worker, steps.book(j, place, worker))
        sale = steps.redeem(j, place, worker)
        station_code = steps.volunteer(j, place, worker)
        steps.suspend(j, worker.member_id)
        steps.every_service_refuses(j, worker, sale, station_code)
        walked = Walk(j, place, worker, consumer)
        walked.read(steps.PROPAGATION_SECONDS, until_types=set(EXPECTED))
        walked.read(2.0)  # a duplicate published late would arrive now
        yield walked


def test_each_event_the_journey_causes_is_on_the_wire_exactly_once_keyed_by_its_aggregate(walk):
    counts = Counter(x.event.type for x in walk.seen)
    assert {t: counts[t] for t in EXPECTED} == dict.fromkeys(EXPECTED, 1)
    assert set(counts) == set(EXPECTED), f"unexpected events: {set(counts) - set(EXPECTED)}"
    assert len({x.event.id for x in walk.seen}) == len(walk.seen)
    topics = {"member": "members", "booking": "courses", "redemption": "benefits", "voucher": "benefits"}
    for x in walk.seen:
        noun = x.event.type.split(".")[1]
        assert x.topic == topics.get(noun, "stations"), x.event.type
        assert x.key == x.event.subject, x.event.type  # one aggregate's events stay on one partition
    station_events = [x for x in walk.seen if x.topic == "stations"]
    assert {x.event.subject for x in station_events} == {walk.place.station["id"]}
    others = [x for x in walk.seen if x.topic != "stations"]
    assert {x.event.subject for x in others} == {walk.worker.member_id}


def test_each_event_carries_the_trace_id_of_the_request_that_caused_it(walk):
    wrong = []
    for event_type, step in CAUSED_BY_REQUESTS.items():
        (x,) = walk.of_type(event_type)
        parent = TRACEPARENT.match(x.event.traceparent or "")
        if parent is None or parent.group(1) != walk.journey.traces[step]:
            trace = walk.journey.traces[step]
            wrong.append(f"{event_type}: {x.event.traceparent!r}, the {step} request's trace is {trace}")
    assert not wrong, "\n".join(wrong)


def test_events_a_consumer_emits_carry_the_trace_of_the_request_behind_the_event_it_handled(walk):
    for event_type, step in CAUSED_BY_EVENTS.items():
        (x,) = walk.of_type(event_type)
        parent = TRACEPARENT.match(x.event.traceparent or "")
        assert parent is not None and parent.group(1) == walk.journey.traces[step], (
            f"{event_type}: {x.event.traceparent!r}"
        )


def _duplicates_absorbed() -> float:
    try:
        text = requests.get(MERCHANTS_WORKER_METRICS, timeout=5).text
    except requests.RequestException as error:
        infra_missing(f"the merchants worker's metrics at {MERCHANTS_WORKER_METRICS} do not answer ({error})")
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name == "unionhub_events_consumed_total"
                and labels.get("consumer") == "merchants"
                and labels.get("type") == s.SHIFT_COMPLETED
                and labels.get("outcome") == "duplicate"
            ):
                return sample.value
    return 0.0


def test_a_shift_completion_delivered_again_grants_no_second_voucher(walk):
    from kafka import KafkaProducer

    (completed,) = walk.of_type(s.SHIFT_COMPLETED)
    before = _duplicates_absorbed()
    earlier = len(walk.seen)
    producer = KafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, acks="all")
    try:
        record = completed.record
        producer.send(record.topic, key=record.key, value=record.value, headers=list(record.headers)).get(
            timeout=10
        )
    finally:
        producer.close()
    deadline = time.monotonic() + steps.PROPAGATION_SECONDS
    while _duplicates_absorbed() <= before:
        assert time.monotonic() < deadline, "merchants did not absorb the shift.completed delivered again"
        time.sleep(0.2)
    walk.read(2.0)
    later = [x.event.type for x in walk.seen[earlier:]]
    del walk.seen[earlier:]  # the other tests count what the journey caused, not this delivery
    assert later.count(s.SHIFT_COMPLETED) == 1 and b.VOUCHER_GRANTED not in later, later
