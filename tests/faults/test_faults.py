"""Five faults, each injected into the fault runs' own system (tests/faults/stack.py) under a sustained
mixed load (tests/faults/load.py), each reporting its figures (docs/reliability.md, "Faults").

Each run: the load for UNIONHUB_FAULT_BEFORE seconds (15), the fault (the part down for
UNIONHUB_FAULT_HOLD seconds, 5, then restarted), the load for UNIONHUB_FAULT_AFTER seconds (20)
after the fault's end; then every operation left without an answer is asked again, the events are
waited for, and everything is accounted for (tests/faults/accounting.py). UNIONHUB_FAULT_SEED fixes
the load's choices. The figures go to var/fault-results/<fault>.json and are printed as a table
(tests/faults/report.py lays them out for the docs).

A run fails on any unclean answer (a 5xx other than a 503 with Retry-After and a problem code, or
no answer at all from the gateway), any operation still without an answer after recovery, any event
lost or dead-lettered, and any mismatch of seats or money with the answers given.

Run them under the machine's heavy-work lock: `flock /tmp/unionhub-heavy.lock .venv/bin/pytest tests/faults`.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from sqlalchemy import func, select

from . import accounting
from .conftest import Setting
from .load import MixedLoad, by_endpoint, recovery
from .report import RESULTS, render
from .stack import HOST, KAFKA_PORT, Stack, wait_until

pytestmark = pytest.mark.slow

SEED = os.environ.get("UNIONHUB_FAULT_SEED", "12")
BEFORE = float(os.environ.get("UNIONHUB_FAULT_BEFORE", "15"))
AFTER = float(os.environ.get("UNIONHUB_FAULT_AFTER", "20"))
HOLD = float(os.environ.get("UNIONHUB_FAULT_HOLD", "5"))
# Each run's own courses and offer: more (member, course) pairs than the bookers get through, seats
# that fill during the run, and a budget that runs out during it at the tills' usual pace.
COURSES, CAPACITY, BUDGET_FEN = 20, 8, 300_000
DRAIN_TIMEOUT = 180.0
WORKER = "merchants"  # its worker relays the sales' events and applies the members'
WEB = "merchants"  # the tills' service: sales in flight when its processes die

Inject = Callable[[Stack, accounting.Baseline, dict], str]


def run(stack: Stack, setting: Setting, fault: str, title: str, inject: Inject) -> dict:
    target = setting.target(COURSES, CAPACITY, BUDGET_FEN)
    base = accounting.baseline(stack)
    load = MixedLoad(stack.gateway, target, f"{SEED}:{fault}")
    notes: dict = {}
    load_average = os.getloadavg()[0]
    load.start()
    try:
        time.sleep(BEFORE)
        began = load.recorder.now()
        how = inject(stack, base, notes)
        ended = load.recorder.now()
        caught_up = catch_up(stack, base, lambda: load.recorder.now() - ended)
        time.sleep(max(0.0, AFTER - (load.recorder.now() - ended)))
    finally:
        load.stop()
    load.resolve()
    try:
        wait_until(
            lambda: accounting.drained(stack, base, accounting.highest_seq(stack)),
            "every event of the run applied",
            DRAIN_TIMEOUT,
        )
    except AssertionError as error:
        notes["not settled"] = str(error)

    attempts = load.recorder.attempts
    operations = Counter({kind: len(ops) for kind, ops in load.operations.items()})
    operations["finder read"] = sum(1 for a in attempts if a.endpoint == "find")
    report = {
        "fault": fault,
        "title": title,
        "seed": SEED,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "phases_s": {"before": BEFORE, "hold": HOLD, "after": AFTER},
        "fault_window_s": {"began": round(began, 2), "length": round(ended - began, 2), "how": how},
        "machine_load": [load_average, os.getloadavg()[0]],
        "N": {
            "operations": dict(operations),
            "operations_total": sum(operations.values()),
            "requests": len(attempts),
        },
        "requests": by_endpoint(attempts),
        "recovery": recovery(attempts, began, ended),
        "unresolved": [{"kind": op.kind, **op.detail} for op in load.unresolved()],
        "events": {**accounting.event_figures(stack, base), "caught_up_s": caught_up},
        "seats": accounting.seat_figures(stack, target.courses, load.operations["booking"]),
        "money": accounting.money_figures(stack, target.offer_id, load.operations["redemption"]),
        "notes": notes,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{fault}.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print("\n" + render([report]))
    assert not failures(report), failures(report)
    return report


def catch_up(stack: Stack, base: accounting.Baseline, since_end: Callable[[], float]) -> dict:
    """Seconds from the fault's end until the relays had sent every event recorded up to that end
    ("relayed"), and until each consumer had applied them; a part missing never caught up."""
    upto = wait_until(lambda: accounting.highest_seq(stack), "the databases answering", 60)
    deadline = time.monotonic() + DRAIN_TIMEOUT
    caught: dict[str, float] = {}
    while time.monotonic() < deadline:
        try:
            waiting = accounting.backlog(stack, base, upto)
        except Exception:  # noqa: BLE001 - a database still coming back: not yet
            time.sleep(0.1)
            continue
        parts = {"relayed": sum(waiting["unsent"].values()), **waiting["unapplied"]}
        for part, left in parts.items():
            if not left:
                caught.setdefault(part, round(since_end(), 2))
        if len(caught) == len(parts):
            break
        time.sleep(0.1)
    return caught


def failures(report: dict) -> list[str]:
    found = [
        f"{endpoint}: unclean answers {row['unclean']}"
        for endpoint, row in report["requests"].items()
        if row["unclean"]
    ]
    if report["unresolved"]:
        found.append(f"operations without an answer after recovery: {report['unresolved']}")
    ev = report["events"]
    if ev["lost"] or ev["unsent"] or ev["dead_lettered"]:
        found.append(f"events: {ev['lost']} lost, {ev['unsent']} unsent, {ev['dead_lettered']} dead-lettered")
    if len(ev["caught_up_s"]) < 1 + len(ev["applications_expected"]):
        found.append(f"the events recorded up to the fault's end, not caught up in time: {ev['caught_up_s']}")
    return found + report["seats"]["problems"] + report["money"]["problems"]


def refused(report: dict, endpoint: str, label: str) -> int:
    return report["requests"].get(endpoint, {}).get("refused", {}).get(label, 0)


# --- the faults -------------------------------------------------------------------------------------


def test_the_broker_sigkilled_and_restarted(stack, setting):
    def inject(stack: Stack, base, notes: dict) -> str:
        stack.infra("kill", "kafka")
        try:
            time.sleep(HOLD)
            notes["waiting at the restart"] = accounting.backlog(stack, base)
        finally:
            stack.infra("up", "kafka")
        return "SIGKILL, restart through deploy/local/infra.sh up kafka"

    report = run(stack, setting, "broker", "Kafka broker SIGKILLed and restarted", inject)
    # The fault bit: events waited in the outboxes while the broker was away.
    assert sum(report["notes"]["waiting at the restart"]["unsent"].values()) > 0


class InHand:
    """What a service's worker has in hand, read from outside it: records its relay has put on its
    topic against the outbox rows it has marked sent, and events its consumer has applied (its inbox)
    against the offsets it has committed for them."""

    def __init__(self, stack: Stack, service: str, topic: str):
        self.stack, self.service = stack, service
        bootstrap = f"{HOST}:{KAFKA_PORT}"
        self.kafka = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        self.partitions = [TopicPartition(topic, p) for p in self.kafka.partitions_for_topic(topic)]
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap)

    def close(self) -> None:
        self.kafka.close()
        self.admin.close()

    def published(self) -> int:
        return sum(self.kafka.end_offsets(self.partitions).values())

    def committed(self) -> int:
        offsets = self.admin.list_group_offsets(self.service)[self.service]
        return sum(o.offset for o in offsets.values())

    def _count(self, query) -> int:
        with self.stack.engine(self.service).connect() as conn:
            return conn.execute(query).scalar_one()

    def applied(self) -> int:
        inbox = accounting.INBOX
        return self._count(select(func.count()).select_from(inbox).where(inbox.c.consumer == self.service))

    def marked_since(self, moment: datetime) -> int:
        """Outbox rows the relay has marked sent since ``moment`` (its clock is this machine's)."""
        outbox = accounting.OUTBOX
        return self._count(select(func.count()).select_from(outbox).where(outbox.c.sent_at >= moment))


def test_one_services_worker_sigkilled_mid_batch(stack, setting):
    def inject(stack: Stack, base, notes: dict) -> str:
        # Frozen (SIGSTOP) while the load goes on, the worker falls behind on both sides: the sales'
        # events pile up in its outbox, the members' on their topic. Then it is let go and frozen
        # again at the first sign of work (a record on its topic, a row in its inbox), and killed
        # if that froze it mid-batch: records on the topic whose rows are not marked sent yet, or
        # events applied whose offsets are not committed yet. Otherwise it is let go again.
        hand = InHand(stack, WORKER, "benefits")
        in_hand: dict = {}
        try:
            stack.freeze_worker(WORKER)
            time.sleep(HOLD)
            notes["waiting when it was let go"] = accounting.backlog(stack, base)
            for attempt in range(1, 21):
                published, applied, committed = hand.published(), hand.applied(), hand.committed()
                let_go = datetime.now(UTC)
                stack.thaw_worker(WORKER)
                wait_until(
                    lambda: hand.published() > published or hand.applied() > applied,  # noqa: B023
                    "the worker taking up its work",
                    15,
                    0.001,
                )
                stack.freeze_worker(WORKER)
                newly_applied = hand.applied() - applied
                unmarked = hand.published() - published - hand.marked_since(let_go)
                in_hand = {
                    "attempt": attempt,
                    "on the topic, not marked sent": unmarked,
                    "applied, offsets not committed": newly_applied if hand.committed() == committed else 0,
                }
                if (
                    in_hand["on the topic, not marked sent"] > 0
                    or in_hand["applied, offsets not committed"] > 0
                ):
                    break
        finally:
            stack.kill_worker(WORKER)
            hand.close()
            stack.start_worker(WORKER)  # as a supervisor would, and for the runs after this one
        notes["in hand when it was killed"] = in_hand
        return f"{WORKER}' worker frozen {HOLD:.0f} s, let go, SIGKILLed mid-batch, started again"

    report = run(stack, setting, "worker", f"{WORKER.capitalize()}' event worker SIGKILLed mid-batch", inject)
    killed = report["notes"]["in hand when it was killed"]
    assert killed["on the topic, not marked sent"] > 0 or killed["applied, offsets not committed"] > 0


def outage(component: str) -> Inject:
    def inject(stack: Stack, base, notes: dict) -> str:
        stack.infra("down", component)
        try:
            time.sleep(HOLD)
        finally:
            stack.infra("up", component)
        return f"infra.sh down {component}, {HOLD:.0f} s, infra.sh up {component}"

    return inject


def test_redis_restarted(stack, setting):
    report = run(stack, setting, "redis", "Redis restarted", outage("redis"))
    # The fault bit: the finder, which reads Redis alone, said so while it was away.
    assert refused(report, "find", "503 service_unavailable") > 0


def test_postgresql_restarted(stack, setting):
    report = run(stack, setting, "postgres", "PostgreSQL restarted", outage("postgres"))
    assert refused(report, "book", "503 service_unavailable") > 0


def test_one_services_web_processes_sigkilled(stack, setting):
    def inject(stack: Stack, base, notes: dict) -> str:
        stack.kill_web(WEB)
        try:
            time.sleep(HOLD)
        finally:
            stack.start_web(WEB)
        return f"SIGKILL of {WEB}' gunicorn master and workers, {HOLD:.0f} s, started again"

    report = run(stack, setting, "web", f"{WEB.capitalize()}' web processes SIGKILLed", inject)
    # The fault bit: the gateway answered for the tills' service while nothing listened.
    assert refused(report, "redeem", "503 service_unavailable (gateway)") > 0
