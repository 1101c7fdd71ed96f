"""After a fault run: every event accounted for, and the seats and the money reconciled with the answers.

Events, over the outbox rows a run added (each service's ``seq`` past the run's baseline):

* produced: outbox rows; each must be marked sent;
* on the topic: the ones whose id (``ce_id``) a read of the topic from its start finds, and how many
  copies beyond one the relay published (a crash between Kafka's acknowledgement and the mark);
* applied: for each service whose handlers take the event's type, its inbox row for the event;
* duplicates absorbed: the consumers' own ``duplicate`` outcomes (their /metrics) over the run;
* lost: produced but not on the topic, plus expected applications without an inbox row. Must be 0.

Seats: the run's courses' bookings in courses' database are exactly the bookings answered 201, with
the same status, and no course confirms more than its capacity or disagrees with its own count.
Money: the offer's redemptions in merchants' database are exactly the sales answered 201, their
discounts sum to what the answers said, and to what the offer's budget lost, never past it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import MetaData, func, select

from events.catalogue import CATALOGUE
from events.store import add_bus_tables
from services.courses import tables as courses_tables
from services.merchants import tables as merchants_tables
from services.registry import SERVICES

from .load import Operation
from .stack import HOST, KAFKA_PORT, SERVICE_PORTS, Stack

OUTBOX, INBOX = add_bus_tables(MetaData())  # the same two tables in every service's database
# Which event types each service applies: the keys of its handlers.
CONSUMES = {name: frozenset(SERVICES[name].part("handlers")) for name in SERVICE_PORTS}


@dataclass(frozen=True)
class Baseline:
    seq: dict[str, int]  # each service's highest outbox seq before the run
    outcomes: dict[str, Counter]  # each consumer's outcomes before the run
    dead_letters: int  # records on the dead-letter topics before the run


def highest_seq(stack: Stack) -> dict[str, int]:
    found = {}
    for name in SERVICE_PORTS:
        with stack.engine(name).connect() as conn:
            found[name] = conn.execute(select(func.coalesce(func.max(OUTBOX.c.seq), 0))).scalar_one()
    return found


def baseline(stack: Stack) -> Baseline:
    return Baseline(
        highest_seq(stack),
        {name: stack.consumer_outcomes(name) for name in SERVICE_PORTS},
        sum(read_topics(dead_letters=True).values()),
    )


def produced(stack: Stack, service: str, after: int, upto: int | None = None) -> list:
    o = OUTBOX.c
    query = select(o.event_id, o.type, o.sent_at).where(o.seq > after).order_by(o.seq)
    if upto is not None:
        query = query.where(o.seq <= upto)
    with stack.engine(service).connect() as conn:
        return conn.execute(query).all()


def applied(stack: Stack, consumer: str, event_ids: list[str]) -> set[str]:
    if not event_ids:
        return set()
    i = INBOX.c
    with stack.engine(consumer).connect() as conn:
        return set(
            conn.execute(
                select(i.event_id).where(i.consumer == consumer, i.event_id.in_(event_ids))
            ).scalars()
        )


def expected_applications(rows) -> dict[str, list[str]]:
    """Consumer → the ids of the events among ``rows`` it has a handler for."""
    return {c: [r.event_id for r in rows if r.type in types] for c, types in CONSUMES.items() if types}


def backlog(stack: Stack, base: Baseline, upto: dict[str, int] | None = None) -> dict:
    """What waits, among the events recorded since the baseline (up to ``upto``): outbox rows not yet
    sent, per service, and events not yet applied, per consumer."""
    rows = {name: produced(stack, name, base.seq[name], (upto or {}).get(name)) for name in SERVICE_PORTS}
    every = [row for found in rows.values() for row in found]
    return {
        "unsent": {name: sum(1 for r in found if r.sent_at is None) for name, found in rows.items()},
        "unapplied": {
            c: len(ids) - len(applied(stack, c, ids)) for c, ids in expected_applications(every).items()
        },
    }


def drained(stack: Stack, base: Baseline, upto: dict[str, int]) -> bool:
    """Every event the services had recorded up to ``upto`` is sent and applied by every consumer."""
    waiting = backlog(stack, base, upto)
    return not any(waiting["unsent"].values()) and not any(waiting["unapplied"].values())


def read_topics(*, dead_letters: bool = False) -> Counter:
    """Every record's event id on the catalogue's topics (or their dead-letter topics), from the start."""
    names = [t.dlq if dead_letters else t.name for t in CATALOGUE.topics.values()]
    consumer = KafkaConsumer(
        bootstrap_servers=f"{HOST}:{KAFKA_PORT}", group_id=None, enable_auto_commit=False
    )
    try:
        partitions = [
            TopicPartition(name, p)
            for name in names
            for p in sorted(consumer.partitions_for_topic(name) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        ids: Counter = Counter()
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for records in consumer.poll(timeout_ms=1000, max_records=5000).values():
                for record in records:
                    headers = dict(record.headers or [])
                    ids[headers.get("ce_id", b"?").decode()] += 1
        return ids
    finally:
        consumer.close()


def event_figures(stack: Stack, base: Baseline) -> dict:
    rows = [row for name in SERVICE_PORTS for row in produced(stack, name, base.seq[name])]
    on_topic = read_topics()
    published = sum(1 for r in rows if on_topic[r.event_id])
    expected = expected_applications(rows)
    done = {c: applied(stack, c, ids) for c, ids in expected.items()}
    duplicates = {
        c: stack.consumer_outcomes(c)["duplicate"] - base.outcomes[c]["duplicate"] for c in expected
    }
    by_type = Counter(r.type.removeprefix("unionhub.") for r in rows)
    return {
        "produced": len(rows),
        "produced_by_type": dict(sorted(by_type.items())),
        "unsent": sum(1 for r in rows if r.sent_at is None),
        "on_topic": published,
        "republished_copies": sum(on_topic[r.event_id] for r in rows) - published,
        "applications_expected": {c: len(ids) for c, ids in expected.items()},
        "applied": {c: len(found) for c, found in done.items()},
        "duplicates_absorbed": duplicates,
        "dead_lettered": sum(read_topics(dead_letters=True).values()) - base.dead_letters,
        "lost": (len(rows) - published) + sum(len(ids) - len(done[c]) for c, ids in expected.items()),
    }


def seat_figures(stack: Stack, capacities: dict[str, int], bookings: list[Operation]) -> dict:
    b, c = courses_tables.bookings.c, courses_tables.courses.c
    with stack.engine("courses").connect() as conn:
        rows = conn.execute(
            select(b.id, b.course_id, b.status).where(b.course_id.in_(list(capacities)))
        ).all()
        counted = dict(conn.execute(select(c.id, c.confirmed).where(c.id.in_(list(capacities)))).all())
    answered = {op.body["id"]: op.body["status"] for op in bookings if op.status == 201}
    stored = {row.id: row.status for row in rows}
    confirmed = Counter(row.course_id for row in rows if row.status == "confirmed")
    problems = []
    if stored != answered:
        problems.append(
            f"{len(set(stored) - set(answered))} bookings stored but never answered 201, "
            f"{len(set(answered) - set(stored))} answered 201 but not stored, "
            f"{sum(1 for k in set(stored) & set(answered) if stored[k] != answered[k])} with another status"
        )
    for course_id, capacity in capacities.items():
        if confirmed[course_id] > capacity:
            problems.append(f"course {course_id}: {confirmed[course_id]} confirmed over {capacity} seats")
        if counted[course_id] != confirmed[course_id]:
            problems.append(
                f"course {course_id} counts {counted[course_id]} confirmed, has {confirmed[course_id]}"
            )
    answers = Counter(str(op.status) if op.status != 201 else op.body["status"] for op in bookings)
    return {
        "courses": len(capacities),
        "seats": sum(capacities.values()),
        "confirmed": sum(confirmed.values()),
        "waitlisted": sum(1 for row in rows if row.status == "waitlisted"),
        "answers": dict(sorted(answers.items())),
        "problems": problems,
    }


def money_figures(stack: Stack, offer_id: str, sales: list[Operation]) -> dict:
    r, o = merchants_tables.redemptions.c, merchants_tables.offers.c
    with stack.engine("merchants").connect() as conn:
        stored = dict(conn.execute(select(r.id, r.discount_fen).where(r.offer_id == offer_id)).all())
        total, remaining = conn.execute(
            select(o.budget_total, o.budget_remaining).where(o.id == offer_id)
        ).one()
    answered = {op.body["id"]: op.body["discount_fen"] for op in sales if op.status == 201}
    problems = []
    if stored != answered:
        problems.append(
            f"{len(set(stored) - set(answered))} redemptions stored but never answered 201, "
            f"{len(set(answered) - set(stored))} answered 201 but not stored, "
            f"{sum(1 for k in set(stored) & set(answered) if stored[k] != answered[k])} with another discount"
        )
    if total - remaining != sum(stored.values()):
        problems.append(
            f"the budget lost {total - remaining} fen, the redemptions discount {sum(stored.values())}"
        )
    if remaining < 0:
        problems.append(f"the budget is overspent: {remaining} fen left")
    answers = Counter(
        "201" if op.status == 201 else f"{op.status} {op.body.get('code', '')}".strip() for op in sales
    )
    return {
        "budget_fen": total,
        "spent_fen": total - remaining,
        "discounts_answered_fen": sum(answered.values()),
        "redemptions": len(stored),
        "answers": dict(sorted(answers.items())),
        "problems": problems,
    }
