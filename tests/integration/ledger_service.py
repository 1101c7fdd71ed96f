"""A tiny service for the event bus integration tests and the benchmark.

The producer side writes a ``credits`` row and a ``unionhub.test.ledger.credited.v1`` event in one
unit of work. The consumer side applies each event by inserting a ``ledger_entries`` row and adding
the amount to ``balances``. Both are deliberately NOT idempotent (no unique event_id, ``balance =
balance + amount``): only the bus's inbox stands between a redelivery and a visible double
application, so the tests see any.

Run as a subprocess so a test can SIGKILL it::

    python tests/integration/ledger_service.py relay|consumer

configured by environment variables (see ``main``). On SIGTERM the worker stops cleanly and prints
one line ``COUNTS {...}`` with its consumer outcome counts to stdout.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient
from marshmallow import fields
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from events.admin import ensure_topics
from events.catalogue import Catalogue, Topic
from events.dispatch import Handler, ManyHandler
from events.envelope import Event, encode_data, to_headers
from schemas.events.base import EventPayload
from services.common.db import Database, UnitOfWork, drop_database

TYPE = "unionhub.test.ledger.credited.v1"
PARTITIONS = 3
SERVICE = "ledger-test"
SCRIPT = Path(__file__).resolve()
REPO_ROOT = SCRIPT.parents[2]

# Environment of the subprocess.
ENV_TOPIC = "LEDGER_TOPIC"
ENV_DATABASE_URL = "LEDGER_DATABASE_URL"
ENV_BOOTSTRAP = "LEDGER_KAFKA_BOOTSTRAP"
ENV_GROUP = "LEDGER_GROUP"
ENV_FIXED_FLAG = "LEDGER_FIXED_FLAG"  # set: use the poisonable handler, "fixed" once this file exists
ENV_KAFKA_LOG_LEVEL = "LEDGER_KAFKA_LOG_LEVEL"  # kafka-python's log level (WARNING unless set)
ENV_COMMIT_LOG = "LEDGER_COMMIT_LOG"  # set: write "<event id> <commit time>" lines here on exit
ENV_HANDLER = "LEDGER_HANDLER"  # "ledger" (default: entry + balance per event) or "projection"

metadata = MetaData()
# The producer's state: one row per credit, written with its event.
credits = Table(
    "credits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("account", String(60), nullable=False),
    Column("amount", BigInteger, nullable=False),
)
# The consumer's state. No unique constraint on event_id, on purpose.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),
    Column("account", String(60), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)
balances = Table(
    "balances",
    metadata,
    Column("account", String(60), primary_key=True),
    Column("balance", BigInteger, nullable=False),
)


class LedgerCreditedV1(EventPayload):
    account = fields.String(required=True)
    amount = fields.Integer(required=True, strict=True)
    poison = fields.Boolean(load_default=False)


def make_catalogue(topic: str) -> Catalogue:
    return Catalogue([Topic(topic, partitions=PARTITIONS, key="account", types={TYPE: LedgerCreditedV1})])


def new_topic_name(prefix: str = "test-ledger") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# ------------------------------------------------------------------ handlers ----


def apply_credit(event: Event, uow: UnitOfWork) -> None:
    """Non-idempotent on purpose: applying an event twice shows up as a second row and a wrong sum."""
    conn = uow.connection
    data = event.data
    conn.execute(
        ledger_entries.insert().values(
            event_id=event.id, account=data["account"], amount=data["amount"], applied_at=datetime.now(UTC)
        )
    )
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(balances).values(account=data["account"], balance=data["amount"])
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[balances.c.account], set_={"balance": balances.c.balance + stmt.excluded.balance}
        )
    )
    applied = getattr(uow, "applied", None)
    if applied is not None:
        applied.append(event.id)


def project_credits(events: list[Event], uow: UnitOfWork) -> None:
    """The smallest realistic handler: a projection row per event, written for a whole run of
    events in one multi-row insert (events.dispatch.ManyHandler). The benchmark uses it to measure
    what the bus itself costs, apart from per-event work a handler chooses to do."""
    now = datetime.now(UTC)
    uow.connection.execute(
        ledger_entries.insert(),
        [
            {"event_id": e.id, "account": e.data["account"], "amount": e.data["amount"], "applied_at": now}
            for e in events
        ],
    )
    applied = getattr(uow, "applied", None)
    if applied is not None:
        applied.extend(e.id for e in events)


class PoisonError(RuntimeError):
    pass


def poisonable(fixed_flag: Path) -> Handler:
    """apply_credit, except that events flagged ``poison`` fail until ``fixed_flag`` exists."""

    def handle(event: Event, uow: UnitOfWork) -> None:
        apply_credit(event, uow)  # state written first, so a failure must roll it back
        if event.data.get("poison") and not fixed_flag.exists():
            raise PoisonError(f"cannot apply poison credit {event.id} until {fixed_flag.name} exists")

    return handle


# ------------------------------------------------------------ the databases ----


class TimedUnitOfWork(UnitOfWork):
    """Records when the transaction applying an event committed (for the benchmark's latency)."""

    def __init__(self, db: Database, log: list[tuple[str, float]]):
        super().__init__(db)
        self.applied: list[str] = []
        self._log = log

    def commit(self) -> None:
        super().commit()
        now = time.time()
        self._log.extend((event_id, now) for event_id in self.applied)


class LedgerDatabase(Database):
    def __init__(self, url: str, topic: str, *, commit_log: list | None = None):
        super().__init__(url, metadata, make_catalogue(topic), source="/test/ledger")
        self.commit_log = commit_log

    def unit_of_work(self) -> UnitOfWork:
        if self.commit_log is None:
            return UnitOfWork(self)
        return TimedUnitOfWork(self, self.commit_log)


def create_database(admin_url: str, name: str) -> str:
    """CREATE DATABASE through the admin URL's role; return the new database's URL."""
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def write_credits(
    db: Database,
    count: int,
    *,
    per_transaction: int = 100,
    accounts: int = 50,
    amount: Callable[[int], int] = lambda i: i % 997 + 1,
    start: int = 0,
) -> list[tuple[str, int]]:
    """Write ``count`` credits, each with its event in the same transaction; return (event id, amount)."""
    written: list[tuple[str, int]] = []
    for first in range(start, start + count, per_transaction):
        batch = []
        with db.unit_of_work() as uow:
            for i in range(first, min(first + per_transaction, start + count)):
                account, value = f"acct-{i % accounts:03d}", amount(i)
                event = uow.emit(
                    TYPE, account, {"account": account, "amount": value, "occurred_at": datetime.now(UTC)}
                )
                uow.connection.execute(
                    credits.insert().values(event_id=event.id, account=account, amount=value)
                )
                batch.append((event.id, value))
            uow.commit()
        written.extend(batch)
    return written


def write_credit(db: Database, account: str, amount: int, *, poison: bool = False) -> str:
    """One credit and its event in one transaction; return the event id."""
    data = {"account": account, "amount": amount, "occurred_at": datetime.now(UTC)}
    if poison:
        data["poison"] = True
    with db.unit_of_work() as uow:
        event = uow.emit(TYPE, account, data)
        uow.connection.execute(credits.insert().values(event_id=event.id, account=account, amount=amount))
        uow.commit()
    return event.id


def wait_for_quiet(db: Database, timeout: float = 30) -> None:
    """Wait until no other session is inside a transaction on the database (a killed worker's is gone)."""
    query = text(
        "select count(*) from pg_stat_activity where datname = current_database() "
        "and pid <> pg_backend_pid() and state in ('active', 'idle in transaction', "
        "'idle in transaction (aborted)')"
    )

    def quiet() -> bool:
        with db.engine.connect() as conn:
            return conn.execute(query).scalar_one() == 0

    wait_until(quiet, timeout=timeout, what="the killed worker's transaction to end", interval=0.05)


@dataclass(frozen=True)
class LedgerFigures:
    entries: int
    distinct_events: int
    balance_sum: int


def ledger_figures(db: Database) -> LedgerFigures:
    with db.engine.connect() as conn:
        entries, distinct = conn.execute(
            select(func.count(), func.count(ledger_entries.c.event_id.distinct()))
        ).one()
        total = conn.execute(select(func.coalesce(func.sum(balances.c.balance), 0))).scalar_one()
    return LedgerFigures(entries, distinct, int(total))


def entries_for(db: Database, event_id: str) -> int:
    with db.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(ledger_entries).where(ledger_entries.c.event_id == event_id)
        ).scalar_one()


def sent_count(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(
            select(func.count()).select_from(db.outbox).where(db.outbox.c.sent_at.is_not(None))
        ).scalar_one()


# ------------------------------------------------------------------- Kafka ----


class TopicCounter:
    """Counts a topic's records (the sum of its end offsets; nothing is deleted during a test)."""

    def __init__(self, bootstrap: str, topic: str):
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap)
        self._partitions = [
            TopicPartition(topic, p) for p in self._consumer.partitions_for_topic(topic) or ()
        ]

    def __call__(self) -> int:
        return sum(self._consumer.end_offsets(self._partitions).values())

    def close(self) -> None:
        self._consumer.close()


def records_on_topic(bootstrap: str, topic: str) -> int:
    counter = TopicCounter(bootstrap, topic)
    try:
        return counter()
    finally:
        counter.close()


def committed_total(bootstrap: str, group: str, topic: str) -> int:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0)


def produce_raw(bootstrap: str, topic: str, event: Event) -> None:
    """Publish an event straight to Kafka, bypassing the outbox and its schema check (a rogue producer)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        producer.send(
            topic, key=event.key.encode(), value=encode_data(event.data), headers=to_headers(event)
        ).get(timeout=30)
    finally:
        producer.close(timeout=5)


def read_topic(bootstrap: str, topic: str) -> list:
    """Every record of a topic, read up to its current end offsets (no consumer group involved)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        records = []
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end offsets {end}")
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def headers_of(record) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers or []}


def delete_topics(bootstrap: str, topics: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.delete_topics(topics)
    finally:
        admin.close()


# ------------------------------------------------------- the test harness ----


@dataclass
class Worker:
    """One ``ledger_service.py <role>`` subprocess."""

    role: str
    process: subprocess.Popen
    stdout: Path
    stderr: Path

    def sigkill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 60) -> dict[str, int]:
        """SIGTERM, wait, and return the outcome counts the worker printed (empty if it had none)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        return self.counts()

    def counts(self) -> dict[str, int]:
        for line in self.stdout.read_text().splitlines():
            if line.startswith("COUNTS "):
                return json.loads(line.removeprefix("COUNTS "))
        return {}

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.stderr.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Rig:
    """A fresh topic (and its .dlq), a producer and a consumer database, and the workers started."""

    bootstrap: str
    admin_url: str
    workdir: Path
    topic: str = field(default_factory=new_topic_name)
    group: str = field(default_factory=lambda: f"ledger-test-{uuid.uuid4().hex[:8]}")
    producer_db: LedgerDatabase | None = None
    consumer_db: LedgerDatabase | None = None
    workers: list[Worker] = field(default_factory=list)
    fixed_flag: Path | None = None
    _databases: list[str] = field(default_factory=list)

    @property
    def catalogue(self) -> Catalogue:
        return make_catalogue(self.topic)

    def setup(self) -> Rig:
        ensure_topics(self.bootstrap, self.catalogue)
        suffix = uuid.uuid4().hex[:10]
        for side in ("producer", "consumer"):
            name = f"ledger_{side}_{suffix}"
            url = create_database(self.admin_url, name)
            self._databases.append(name)
            db = LedgerDatabase(url, self.topic)
            db.create_all()
            setattr(self, f"{side}_db", db)
        return self

    def start(self, role: str, *, extra_env: dict[str, str] | None = None) -> Worker:
        db = self.producer_db if role == "relay" else self.consumer_db
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
            ENV_TOPIC: self.topic,
            ENV_DATABASE_URL: db.engine.url.render_as_string(hide_password=False),
            ENV_BOOTSTRAP: self.bootstrap,
            ENV_GROUP: self.group,
            **({ENV_FIXED_FLAG: str(self.fixed_flag)} if self.fixed_flag else {}),
            **(extra_env or {}),
        }
        n = len(self.workers)
        stdout, stderr = self.workdir / f"{n:02d}-{role}.out", self.workdir / f"{n:02d}-{role}.err"
        with stdout.open("w") as out, stderr.open("w") as err:
            process = subprocess.Popen(
                [sys.executable, str(SCRIPT), role], env=env, stdout=out, stderr=err, cwd=REPO_ROOT
            )
        worker = Worker(role, process, stdout, stderr)
        self.workers.append(worker)
        return worker

    def teardown(self) -> None:
        for worker in self.workers:
            with suppress(Exception):
                worker.stop(timeout=20)
        for db in (self.producer_db, self.consumer_db):
            if db is not None:
                db.engine.dispose()
        for name in self._databases:
            with suppress(Exception):
                drop_database(self.admin_url, name)
        with suppress(Exception):
            delete_topics(self.bootstrap, [self.topic, f"{self.topic}.dlq"])


@contextmanager
def rig(bootstrap: str, admin_url: str, workdir: Path) -> Iterator[Rig]:
    r = Rig(bootstrap, admin_url, workdir)
    try:
        yield r.setup()
    finally:
        r.teardown()


def settled(read: Callable[[], int], *, quiet: float = 1.0, timeout: float = 30) -> int:
    """The value of ``read()`` once it has not changed for ``quiet`` seconds.

    After a SIGKILL, what the process had already written to its sockets still reaches the broker:
    a produce request or an offset commit can land after the process is gone.
    """
    deadline = time.monotonic() + timeout
    value, since = read(), time.monotonic()
    while time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise AssertionError(f"still changing after {timeout:.0f}s (last {value})")
        time.sleep(0.05)
        current = read()
        if current != value:
            value, since = current, time.monotonic()
    return value


def wait_until(predicate: Callable[[], object], *, timeout: float, what: str, interval: float = 0.2):
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# ----------------------------------------------------------------- main ----


def main(argv: list[str] | None = None) -> int:
    from events import metrics
    from services.common import worker
    from services.common.config import Settings

    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in worker.ROLES:
        print(f"usage: ledger_service.py {'|'.join(worker.ROLES)}", file=sys.stderr)
        return 2
    role = argv[0]
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("kafka").setLevel(os.environ.get(ENV_KAFKA_LOG_LEVEL, "WARNING"))

    group = os.environ.get(ENV_GROUP, SERVICE)
    settings = Settings(
        service=group,
        database_url=os.environ[ENV_DATABASE_URL],
        kafka_bootstrap=os.environ.get(ENV_BOOTSTRAP, "127.0.0.1:9092"),
    )
    commit_log: list[tuple[str, float]] | None = [] if os.environ.get(ENV_COMMIT_LOG) else None
    db = LedgerDatabase(settings.database_url, os.environ[ENV_TOPIC], commit_log=commit_log)
    flag = os.environ.get(ENV_FIXED_FLAG)
    plain = ManyHandler(project_credits) if os.environ.get(ENV_HANDLER) == "projection" else apply_credit
    handlers = {TYPE: poisonable(Path(flag)) if flag else plain}

    worker.run(settings, db, handlers, roles=(role,))

    counts: dict[str, int] = {}
    for metric in metrics.EVENTS_CONSUMED.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels.get("consumer") == group:
                outcome = sample.labels["outcome"]
                counts[outcome] = counts.get(outcome, 0) + int(sample.value)
    if commit_log is not None:
        Path(os.environ[ENV_COMMIT_LOG]).write_text("".join(f"{i} {t:.6f}\n" for i, t in commit_log))
    print("COUNTS " + json.dumps(counts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
