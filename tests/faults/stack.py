"""The fault runs' own system, apart from the running one, so that killing a part of it disturbs no one.

* Kafka, Redis and PostgreSQL: a second instance of each, started by deploy/local/infra.sh with its
  state under var/faults (UNIONHUB_HOME) and ports of its own (KAFKA_PORT, REDIS_PORT, PGPORT);
* every service that takes the load (web process and event worker), the fakes of WeChat and the
  identity provider, and a gateway (nginx from the same template as the running one), started
  through tests/load/harness.py on ports of their own and stopped by pid at the end.

The services run as in production: each on its own PostgreSQL database, events through Kafka,
gunicorn 2 workers × 4 threads, one event worker each. Two settings differ from the quick start,
both for the length of a run rather than for what it measures: access tokens live two hours (a
long run outlives the 15 minutes), and the services log warnings only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, create_engine

from tests.load import harness

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "deploy" / "local" / "infra.sh"
HOME = REPO / "var" / "faults"  # the stack's UNIONHUB_HOME: wiped at each start, its logs kept after
HOST = harness.HOST

# Apart from the running system's (9092, 6379, 55432, 8000, 81xx, 91xx) and the load benches' (83xx),
# and all below Linux's ephemeral ports (32768-60999): this stack starts, and restarts PostgreSQL,
# late in a test run, when a client's outgoing connection may hold a port of that range. Its
# PostgreSQL on 55632 once failed to start in a full test run with "Address already in use";
# such a connection is the likely holder.
KAFKA_PORT, KAFKA_CONTROLLER_PORT, REDIS_PORT, PG_PORT = 9292, 9293, 6479, 25632
GATEWAY_PORT = 8600
# The services the mixed load reaches (the web pages take no part in it); a worker's metrics are 10
# above its web port.
SERVICE_PORTS = {"enrolment": 8601, "courses": 8602, "merchants": 8603, "stations": 8604}
FAKE_PORTS = {"wechat": 8698, "identity": 8699}
ADMIN_PASSWORD = "fault-runs-admin"
PG_URL = f"postgresql+psycopg://unionhub:unionhub@{HOST}:{PG_PORT}"


def infra_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP", "UNIONHUB_HOME")}
    env.update(
        UNIONHUB_HOME=str(HOME),
        KAFKA_PORT=str(KAFKA_PORT),
        KAFKA_CONTROLLER_PORT=str(KAFKA_CONTROLLER_PORT),
        REDIS_PORT=str(REDIS_PORT),
        PGPORT=str(PG_PORT),
        # A second broker on a shared machine: half the heap of the running one is plenty here.
        KAFKA_HEAP_OPTS="-Xms128m -Xmx512m",
    )
    return env


def service_env() -> dict:
    env = harness.clean_env(f"redis://{HOST}:{REDIS_PORT}/0")
    enrolment = f"http://{HOST}:{SERVICE_PORTS['enrolment']}"
    identity = f"http://{HOST}:{FAKE_PORTS['identity']}"
    env.update(
        UNIONHUB_HOME=str(HOME),
        DATABASE_URL=PG_URL + "/unionhub_{service}",
        KAFKA_BOOTSTRAP=f"{HOST}:{KAFKA_PORT}",
        JWKS_URL=f"{enrolment}/.well-known/jwks.json",
        UNIONHUB_ENROLMENT_URL=enrolment,
        PUBLIC_BASE_URL=f"http://{HOST}:{GATEWAY_PORT}",
        UNIONHUB_ADMIN_PASSWORD=ADMIN_PASSWORD,
        UNIONHUB_WECHAT_CODE2SESSION_URL=f"http://{HOST}:{FAKE_PORTS['wechat']}/sns/jscode2session",
        UNIONHUB_IDENTITY_VERIFY_URL=f"{identity}/identity/verify",
        UNIONHUB_SMS_SEND_URL=f"{identity}/sms/send",
        UNIONHUB_ACCESS_TOKEN_TTL="7200",
    )
    return env


def metrics_port(service: str) -> int:
    return SERVICE_PORTS[service] + 10


class StackFailed(RuntimeError):
    pass


class Stack:
    gateway = f"http://{HOST}:{GATEWAY_PORT}"

    def __init__(self):
        self.procs = harness.Processes(HOME / "log")
        self.env = service_env()
        self.web: dict[str, subprocess.Popen] = {}
        self.workers: dict[str, subprocess.Popen] = {}
        self.starts: Counter[str] = Counter()  # per process, for a log file of each start
        # What the consumers of killed workers had counted before they died (their counters die
        # with them), so totals stay comparable across a restart.
        self.counted_by_the_dead: dict[str, Counter] = {name: Counter() for name in SERVICE_PORTS}
        self._counted_at_freeze: dict[str, Counter] = {}
        self._engines: dict[str, Engine] = {}

    # --- infrastructure ---------------------------------------------------------------------------

    def infra(self, action: str, *components: str) -> None:
        done = subprocess.run(
            ["bash", str(INFRA), action, *components],
            env=infra_env(),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode:
            raise StackFailed(f"infra.sh {action} {' '.join(components)}:\n{done.stdout}\n{done.stderr}")

    def start(self) -> None:
        self.infra("down", "postgres", "redis", "kafka")  # what a run cut short may have left
        shutil.rmtree(HOME, ignore_errors=True)
        self.procs.logs.mkdir(parents=True)
        self.infra("up", "postgres", "redis", "kafka")
        for name, port in FAKE_PORTS.items():
            proc = harness.start_fake(self.procs, name, port, self.env)
            harness.wait_for(f"http://{HOST}:{port}/healthz", proc, name, self.procs.logs)
        for name in SERVICE_PORTS:
            harness.run_cli(self.env, "db", "upgrade", name)
            self.start_web(name)
            self.start_worker(name)
        harness.start_gateway(
            self.procs,
            "gateway",
            HOME / "gateway",
            GATEWAY_PORT,
            {**SERVICE_PORTS, "fake_identity": FAKE_PORTS["identity"]},
            self.env,
        )

    def stop(self) -> None:
        try:
            self.procs.stop_all()
        finally:
            for engine in self._engines.values():
                engine.dispose()
            self.infra("down", "postgres", "redis", "kafka")

    # --- our processes -------------------------------------------------------------------------------

    def _label(self, kind: str, name: str) -> str:
        self.starts[f"{kind}:{name}"] += 1
        n = self.starts[f"{kind}:{name}"]
        return f"{name}-{kind}" + (f"-{n}" if n > 1 else "")

    def start_web(self, name: str) -> None:
        proc = harness.start_service(
            self.procs, name, SERVICE_PORTS[name], self.env, self._label("web", name)
        )
        harness.wait_for(f"http://{HOST}:{SERVICE_PORTS[name]}/healthz", proc, name, self.procs.logs)
        self.web[name] = proc

    def kill_web(self, name: str) -> None:
        """SIGKILL the gunicorn master and its workers at once, requests in flight included."""
        harness.kill_group(self.web[name])

    def start_worker(self, name: str) -> None:
        label = self._label("worker", name)
        proc = harness.start_worker(self.procs, name, metrics_port(name), self.env, label)
        harness.wait_for(f"http://{HOST}:{metrics_port(name)}/metrics", proc, label, self.procs.logs)
        self.workers[name] = proc

    def freeze_worker(self, name: str) -> None:
        """SIGSTOP: the worker holds still, mid-step if it was in one. A frozen process answers no
        scrape and a killed one takes its counters along, so they are read at the first freeze; what
        it counts while let go between freezes is not in the totals."""
        if name not in self._counted_at_freeze:
            self._counted_at_freeze[name] = self._scrape(name)
        harness.kill_group(self.workers[name], signal.SIGSTOP)

    def thaw_worker(self, name: str) -> None:
        harness.kill_group(self.workers[name], signal.SIGCONT)

    def kill_worker(self, name: str) -> None:
        counted = self._counted_at_freeze.pop(name, None)
        self.counted_by_the_dead[name] += counted if counted is not None else self._scrape(name)
        harness.kill_group(self.workers[name])

    # --- what the parts say ------------------------------------------------------------------------

    def engine(self, service: str) -> Engine:
        """The service's own database; the pool reconnects after PostgreSQL restarts."""
        if service not in self._engines:
            self._engines[service] = create_engine(
                f"{PG_URL}/unionhub_{service}", pool_pre_ping=True, pool_size=2, max_overflow=2
            )
        return self._engines[service]

    def _scrape(self, service: str) -> Counter:
        """The worker's consumer outcomes (applied, duplicate, ignored, dead) since it started."""
        text = requests.get(f"http://{HOST}:{metrics_port(service)}/metrics", timeout=5).text
        counts: Counter = Counter()
        for family in text_string_to_metric_families(text):
            if family.name != "unionhub_events_consumed":
                continue
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    counts[sample.labels["outcome"]] += int(sample.value)
        return counts

    def consumer_outcomes(self, service: str) -> Counter:
        """Every outcome the service's consumers counted in this stack's life, killed workers' included."""
        return self.counted_by_the_dead[service] + self._scrape(service)


def wait_until(check, what: str, timeout: float, interval: float = 0.2):
    """``check()``'s first truthy answer; errors of a part still restarting count as "not yet"."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            answer = check()
        except Exception as error:  # noqa: BLE001 - a database or broker coming back
            last, answer = error, None
        if answer:
            return answer
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f} s" + (f" (last error: {last})" if last else ""))
