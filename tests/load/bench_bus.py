"""Event bus benchmark: outbox write → relay → Kafka → consumer → handler commit.

    .venv/bin/python tests/load/bench_bus.py [--events 50000] [--paced-seconds 15] [--rates 1000,200]

Needs the local Kafka and PostgreSQL (``bash deploy/local/infra.sh up``). Not a pytest test (pytest
collects test_*.py only). Uses the ledger test service of tests/integration: the real relay and
consumer (services.common.worker.run) as two subprocesses, a fresh topic and two fresh databases.

Measures
  * saturation: N events wait in the outbox (relay stopped), then the relay starts; events/s =
    N / (last handler commit - relay start). Its latencies are time spent queueing, not a target;
  * paced: events written at a fixed rate (20 per transaction, every 20 ms at 1,000/s); latency
    p50/p99 — the number that matters for a user waiting on a projection;
  * bare loop: kafka-python alone on the same broker, same record size and headers, same producer
    settings (acks=all, idempotence, linger 5 ms, flush every 500) and the same consumer settings
    (group, read_committed, 500 records a poll, commit each poll), producer and consumer in two
    processes; events/s from first send to last record consumed.
The whole run is bounded (about a minute at the defaults).
"""

from __future__ import annotations

import argparse
import glob
import json
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

import kafka  # noqa: E402
import ledger_service as ls  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from events.admin import ensure_topics  # noqa: E402
from events.consumer import default_consumer  # noqa: E402
from events.envelope import Event  # noqa: E402
from events.outbox import serialise  # noqa: E402
from events.relay import default_producer  # noqa: E402

BOOTSTRAP = os.environ.get("UNIONHUB_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
PG_ADMIN_URL = os.environ.get(
    "UNIONHUB_TEST_DATABASE_URL", "postgresql+psycopg://unionhub:unionhub@127.0.0.1:55432/unionhub"
)
RELAY_BATCH = 500  # Relay.batch_size default: the relay sends this many, then flushes
POLL_RECORDS = 500  # ConsumerRunner.max_records default


# ----------------------------------------------------------- machine facts ----


def machine_facts(db: ls.LedgerDatabase) -> dict[str, str]:
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown",
    )
    jars = glob.glob(os.path.expanduser("~/.cache/unionhub/**/kafka_2.13-*.jar"), recursive=True)
    kafka_versions = sorted({Path(j).name.removeprefix("kafka_2.13-").removesuffix(".jar") for j in jars})
    with db.engine.connect() as conn:
        pg = conn.execute(text("select version()")).scalar_one().split(" on ")[0]
        sync = conn.execute(text("show synchronous_commit")).scalar_one()
    return {
        "cpus (nproc)": subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip(),
        "cpu": cpu,
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "kafka broker": ", ".join(kafka_versions) or "unknown (no jars under ~/.cache/unionhub)",
        "kafka-python": kafka.__version__,
        "postgresql": f"{pg} (synchronous_commit={sync})",
    }


# --------------------------------------------------------------- bare loop ----


def _bare_consumer(topic: str, expected: int, ready, results) -> None:
    consumer = default_consumer(BOOTSTRAP, f"bench-bare-{uuid.uuid4().hex[:8]}")([topic])
    seen, last = 0, None
    deadline = time.monotonic() + 90
    while not consumer.assignment() and time.monotonic() < deadline:
        consumer.poll(timeout_ms=100)
    ready.set()
    while seen < expected and time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=200, max_records=POLL_RECORDS)
        if batch:
            seen += sum(len(records) for records in batch.values())
            last = time.time()
            consumer.commit()
    consumer.close(autocommit=False)
    results.put((seen, last))


def bare_loop(count: int, value: bytes, headers: list[tuple[str, bytes]]) -> dict:
    topic = f"bench-bare-{uuid.uuid4().hex[:10]}"
    ensure_topics(BOOTSTRAP, ls.make_catalogue(topic))
    ctx = mp.get_context("spawn")
    ready, results = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_bare_consumer, args=(topic, count, ready, results))
    proc.start()
    try:
        if not ready.wait(90):
            raise RuntimeError("bare consumer never got its partitions")
        producer = default_producer(BOOTSTRAP, client_id="bench-bare")
        meter = CpuMeter(
            lambda: {"producer": [os.getpid()], "consumer": [proc.pid], "kafka": pids_running("kafka.Kafka")}
        )
        meter.start()
        first = time.time()
        for start in range(0, count, RELAY_BATCH):
            for i in range(start, min(start + RELAY_BATCH, count)):
                producer.send(topic, key=f"acct-{i % 50:03d}".encode(), value=value, headers=headers)
            producer.flush(timeout=30)
        produced = time.time()
        producer.close(timeout=5)
        seen, last = results.get(timeout=120)
        meter.stop()
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.kill()
        ls.delete_topics(BOOTSTRAP, [topic, f"{topic}.dlq"])
    if seen < count or last is None:
        raise RuntimeError(f"bare consumer saw {seen} of {count} records")
    return {
        "events": count,
        "produce_per_s": count / (produced - first),
        "end_to_end_per_s": count / (last - first),
        "meter": meter,
    }


# ------------------------------------------------------------ our pipeline ----


def write_batch(db: ls.LedgerDatabase, first: int, size: int, written: dict[str, float]) -> None:
    """One transaction of ``size`` credits and their outbox rows, inserted in bulk so the writer
    (a stand-in for many web requests) is not what limits the paced runs on two CPUs."""
    events, credit_rows = [], []
    for i in range(first, first + size):
        account = f"acct-{i % 50:03d}"
        event = Event(
            type=ls.TYPE,
            source=db.source,
            subject=account,
            data={"account": account, "amount": i % 997 + 1, "occurred_at": datetime.now(UTC)},
        )
        events.append(event)
        credit_rows.append({"event_id": event.id, "account": account, "amount": i % 997 + 1})
    ids = [e.id for e in events]
    with db.unit_of_work() as uow:
        uow.connection.execute(ls.credits.insert(), credit_rows)
        uow.connection.execute(db.outbox.insert(), [serialise(e, db.catalogue) for e in events])
        uow.commit()
    committed = time.time()
    for event_id in ids:
        written[event_id] = committed


def wait_applied(db: ls.LedgerDatabase, total: int, timeout: float, on_progress=None) -> bool:
    """Wait until ``total`` events are applied; call ``on_progress()`` once, when the count first
    moves."""
    # A plain count, not ls.ledger_figures: its COUNT(DISTINCT) and SUM, ten times a second, took
    # about a tenth of a CPU from the PostgreSQL the pipeline under test needs.
    applied = select(func.count()).select_from(ls.ledger_entries)
    deadline, start = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        with db.engine.connect() as conn:
            count = conn.execute(applied).scalar_one()
        if start is None:
            start = count
        elif on_progress is not None and count > start:
            on_progress()
            on_progress = None
        if count >= total:
            return True
        time.sleep(0.1)
    return False


# ---------------------------------------------------------- CPU accounting ----


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pids_running(needle: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


class CpuMeter:
    """CPU seconds each part of the pipeline spent between ``start()`` and ``stop()``.

    ``parts`` names the processes of each part; it is called at ``start()``, once every process
    (PostgreSQL's backends among them) exists.
    """

    def __init__(self, parts: Callable[[], dict[str, list[int]]]):
        self.find_parts = parts
        self.parts: dict[str, list[int]] = {}
        self.used: dict[str, float] = {}
        self.wall = 0.0
        self._began: dict[str, float] | None = None

    def _sample(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in self.parts.items()}

    def start(self) -> None:
        self.parts = self.find_parts()
        self._began, self._at = self._sample(), time.monotonic()

    def stop(self) -> None:
        if self._began is None:  # the events never started to arrive
            return
        ended = self._sample()
        self.wall = time.monotonic() - self._at
        self.used = {name: ended[name] - self._began[name] for name in ended}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summarise(name: str, written: dict[str, float], committed: dict[str, float], *, steady: bool) -> dict:
    """``steady``: rate from the first handler commit to the last, leaving out process start-up;
    the events of that first commit count as already done."""
    latencies = [(committed[i] - t) * 1000 for i, t in written.items() if i in committed]
    applied = sorted(committed[i] for i in written if i in committed)
    if applied and steady:
        rate = (len(applied) - applied.count(applied[0])) / (applied[-1] - applied[0])
    elif applied:
        rate = len(applied) / (applied[-1] - min(written.values()))
    else:
        rate = 0.0
    return {
        "run": name,
        "events": len(written),
        "applied": len(latencies),
        "events_per_s": rate,
        "p50_ms": statistics.median(latencies) if latencies else float("nan"),
        "p99_ms": percentile(latencies, 99) if latencies else float("nan"),
        "max_ms": max(latencies) if latencies else float("nan"),
    }


def run_pipeline(
    events: int, rates: list[int], paced_seconds: float, workdir: Path, handler: str, consumers: int
) -> tuple[dict, list[dict], bytes, list, CpuMeter | None]:
    runs: list[tuple[str, dict[str, float]]] = []
    with ls.rig(BOOTSTRAP, PG_ADMIN_URL, workdir) as rig:
        facts = machine_facts(rig.producer_db)
        commit_logs = [workdir / f"commits-{n}.txt" for n in range(consumers)]
        relay = rig.start("relay")
        # More than one consumer process: the same group shares the topic's partitions among them.
        group = [
            rig.start("consumer", extra_env={ls.ENV_COMMIT_LOG: str(log), ls.ENV_HANDLER: handler})
            for log in commit_logs
        ]
        consumer = group[0]
        meter: CpuMeter | None = None
        try:
            total = 0
            warm: dict[str, float] = {}
            write_batch(rig.producer_db, 0, 200, warm)
            total += 200
            if not wait_applied(rig.consumer_db, total, 90):
                raise RuntimeError("warm-up events were not applied: " + consumer.log_tail())

            # Saturation: the events wait in the outbox first, so the writer's speed does not cap
            # the figure; the clock starts when the relay starts again.
            relay.stop()
            saturation: dict[str, float] = {}
            for first in range(total, total + events, 100):
                write_batch(rig.producer_db, first, 100, saturation)
            total += events
            relay = rig.start("relay")
            released = time.time()
            saturation = dict.fromkeys(saturation, released)
            # Measured from the first events applied to the last, like the steady rate, so the
            # relay's start-up is left out.
            meter = CpuMeter(
                lambda: {
                    "relay": [relay.process.pid],
                    "consumer": [member.process.pid for member in group],
                    "kafka": pids_running("kafka.Kafka"),
                    "postgresql": pids_running("postgres"),
                }
            )
            finished = wait_applied(rig.consumer_db, total, 120, on_progress=meter.start)
            meter.stop()
            runs.append((f"saturation, {events} events" + ("" if finished else " (TIMED OUT)"), saturation))

            for rate in rates:
                paced: dict[str, float] = {}
                per_tick = max(1, rate // 50)  # a transaction every 20 ms
                tick = per_tick / rate
                start, n = time.monotonic(), 0
                while time.monotonic() - start < paced_seconds:
                    write_batch(rig.producer_db, total + n, per_tick, paced)
                    n += per_tick
                    delay = start + (n / per_tick) * tick - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                achieved = n / (time.monotonic() - start)
                total += n
                finished = wait_applied(rig.consumer_db, total, 90)
                label = f"paced {rate}/s for {paced_seconds:.0f}s (written at {achieved:.0f}/s)"
                runs.append((label + ("" if finished else " (TIMED OUT)"), paced))
        finally:
            counts: dict[str, int] = {}
            for member in group:
                for outcome, n in member.stop().items():
                    counts[outcome] = counts.get(outcome, 0) + n
            relay.stop()
        committed = {}
        for log in commit_logs:
            for line in log.read_text().splitlines():
                event_id, ts = line.split()
                committed[event_id] = float(ts)
        with rig.producer_db.engine.connect() as conn:
            sample = conn.execute(select(rig.producer_db.outbox).limit(1)).one()
        value = sample.payload.encode()
        headers = [(k, v.encode()) for k, v in json.loads(sample.headers)]
        facts["consumer outcomes"] = str(counts)
    summaries = [
        summarise(name, written, committed, steady=name.startswith("saturation")) for name, written in runs
    ]
    return facts, summaries, value, headers, meter


def print_cpu(what: str, meter: CpuMeter, events: int) -> None:
    print(f"\n== CPU in {what} ({meter.wall:.1f} s, {os.cpu_count()} CPUs)")
    for name, seconds in [*meter.used.items(), ("all", sum(meter.used.values()))]:
        print(
            f"  {name:12} {seconds:6.2f} CPU-s = {seconds / meter.wall:5.0%} of one CPU, "
            f"{seconds / events * 1e6:5.0f} us per event"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=50_000, help="events in the saturation run (as many as the bare loop)"
    )
    parser.add_argument(
        "--bare-events", type=int, default=50_000, help="records in the bare kafka-python loop"
    )
    parser.add_argument("--rates", default="1000,200", help="paced runs, events/s, comma-separated")
    parser.add_argument("--paced-seconds", type=float, default=15.0)
    parser.add_argument(
        "--handler",
        choices=["projection", "ledger"],
        default="projection",
        help="projection: one multi-row insert per run of events (the bus's own cost); "
        "ledger: an insert and a balance upsert per event",
    )
    parser.add_argument(
        "--consumers", type=int, default=1, help="consumer processes in the group (up to the 3 partitions)"
    )
    args = parser.parse_args(argv)
    began = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="bench-bus-") as tmp:
        facts, results, value, headers, meter = run_pipeline(
            args.events,
            [int(r) for r in args.rates.split(",") if r],
            args.paced_seconds,
            Path(tmp),
            args.handler,
            args.consumers,
        )
    bare = bare_loop(args.bare_events, value, headers)

    print("\n== machine")
    for key, val in facts.items():
        print(f"  {key:18} {val}")
    header_bytes = sum(len(k) + len(v) for k, v in headers)
    print(f"\n== record: {len(value)} B value + {header_bytes} B of headers ({len(headers)} headers)")
    print(
        f"\n== our bus, {args.handler} handler, {args.consumers} consumer process(es)"
        " (outbox commit -> handler commit)"
    )
    print(f"  {'run':58} {'applied':>8} {'events/s':>9} {'p50 ms':>8} {'p99 ms':>9} {'max ms':>9}")
    for r in results:
        print(
            f"  {r['run']:58} {r['applied']:>8} {r['events_per_s']:>9.0f} {r['p50_ms']:>8.1f} "
            f"{r['p99_ms']:>9.1f} {r['max_ms']:>9.1f}"
        )
    if meter is not None and meter.used:
        print_cpu("the saturation run, from the first events applied to the last", meter, args.events)
    print(f"\n== bare kafka-python loop ({bare['events']} records)")
    print(f"  produce only        {bare['produce_per_s']:>9.0f} records/s")
    print(f"  produce -> consume  {bare['end_to_end_per_s']:>9.0f} records/s")
    print_cpu("the bare loop, from the first send to the last record consumed", bare["meter"], bare["events"])
    ours = results[0]["events_per_s"]
    ratio = ours / bare["end_to_end_per_s"]
    print("\n== against the targets")
    print(
        f"  throughput: ours {ours:.0f}/s = {ratio:.1%} of the bare loop (target >= 33%): "
        f"{'MET' if ratio >= 1 / 3 else 'MISSED'}"
    )
    for r in results[1:]:
        if r["run"].startswith("paced 1000/s"):
            met = r["p99_ms"] < 250 and "TIMED OUT" not in r["run"]
            print(f"  p99 at 1,000/s: {r['p99_ms']:.0f} ms (target < 250 ms): {'MET' if met else 'MISSED'}")
    print(f"\nbenchmark took {time.monotonic() - began:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
