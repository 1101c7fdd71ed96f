"""What the load benchmarks of tests/load/ share: starting and stopping what they measure, a gateway
of their own, the load runners, py-spy around a phase, where the CPU goes, and the set-up they make
before they measure (members, courses, a merchant with its stores and tills, stations, joins).

Every bench starts everything it measures on loopback ports of its own and stops exactly that at
the end (by pid, process group included); it touches nothing that is running. Every loop here is
bounded by a count or a deadline.

Not a test (pytest collects test_*.py only).
"""

from __future__ import annotations

import collections
import importlib.util
import json
import logging
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import redis
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for path in (str(REPO), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from bench_enrolment import Phase, machine, percentile, resident_id, session_from  # noqa: E402

from services.common.clock import SHANGHAI  # noqa: E402
from services.common.db import drop_database  # noqa: E402

HOST = "127.0.0.1"
START_TIMEOUT = 90.0
WRK_THREADS, WRK_CONNECTIONS = 2, 32
# The local PostgreSQL's maintenance database (deploy/local/infra.sh: the unionhub role may CREATEDB).
POSTGRES_ADMIN = "postgresql://unionhub:unionhub@127.0.0.1:55432/postgres"
# The variables of a running system's environment that would point a service at its stores.
_FOREIGN_ENV = ("DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP", "PUBLIC_BASE_URL", "JWKS_URL")


# --- processes ----------------------------------------------------------------------------------


class Processes:
    """What we started, to stop exactly those at the end (by pid, process group included)."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict, cwd: Path = REPO) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append((name, proc))
        return proc

    def stop_all(self) -> None:
        for _, proc in reversed(self.started):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in reversed(self.started):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop in 15 s; killing it", file=sys.stderr)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def wait_for(url: str, proc: subprocess.Popen, name: str, logs: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{name} exited ({proc.returncode}); see {logs / (name + '.log')}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    sys.exit(f"{name} did not answer {url} within {START_TIMEOUT:.0f} s; see {logs / (name + '.log')}")


def gunicorn_workers(master: int) -> list[int]:
    """The worker pids of a gunicorn master (py-spy samples workers, the master only forks)."""
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far (Linux /proc); a process that has
    gone counts 0, so read the same pids before and after a phase and take the difference."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / os.sysconf("SC_CLK_TCK")


def serve_pid(proc: subprocess.Popen) -> int:
    # `unionhub serve` execs gunicorn, so the pid we started is gunicorn's master.
    return proc.pid


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "services.cli", *args]


def run_cli(env: dict, *args: str, timeout: float = 300) -> str:
    """A ``unionhub`` command to its end; its output, or the bench stops with it."""
    done = subprocess.run(
        cli(*args), cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode:
        sys.exit(f"`unionhub {' '.join(args)}` failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def has_db_upgrade(env: dict) -> bool:
    done = subprocess.run(
        cli("db", "--help"), cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return done.returncode == 0 and "upgrade" in done.stdout


def clean_env(redis_url: str) -> dict:
    """This process's environment without what would point a service at the running system."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIONHUB_") and k not in _FOREIGN_ENV}
    env.update(PYTHONPATH=str(REPO), REDIS_URL=redis_url, UNIONHUB_LOG_LEVEL="WARNING")
    return env


def pg_url(admin_dsn: str, database: str, driver: str = "postgresql+psycopg") -> str:
    admin = psycopg.conninfo.conninfo_to_dict(admin_dsn)
    return (
        f"{driver}://{admin.get('user', 'unionhub')}:{admin.get('password', '')}"
        f"@{admin.get('host', HOST)}:{admin.get('port', '55432')}/{database}"
    )


@contextmanager
def fresh_databases(admin_dsn: str, names: list[str]) -> Iterator[None]:
    """New, empty PostgreSQL databases, dropped at the end whatever happened."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield
    finally:
        for name in names:
            drop_database(pg_url(admin_dsn, "postgres"), name)


@contextmanager
def bench_world(
    name: str,
    admin_dsn: str,
    databases: list[str],
    *,
    keep: bool,
    redis_url: str | None = None,
    redis_patterns: tuple[str, ...] = (),
) -> Iterator[tuple[Path, Processes]]:
    """A benchmark's own world, all of it undone at the end whatever happened: a temporary directory
    (``logs/``, ``home/``; kept with ``keep``), fresh PostgreSQL ``databases``, the keys of
    ``redis_patterns`` in ``redis_url`` cleared before and after, and every process started through
    the ``Processes`` it yields stopped. Prints the machine and the load average first."""
    tmp = Path(tempfile.mkdtemp(prefix=f"unionhub-bench-{name}-"))
    (tmp / "logs").mkdir()
    (tmp / "home").mkdir()
    procs = Processes(tmp / "logs")
    client = redis.Redis.from_url(redis_url) if redis_patterns else None
    print("machine:", machine().split("; enrolment gunicorn")[0])
    print(f"load average at start: {load_average()}; temporary home {tmp}", flush=True)
    try:
        if client:
            clear_keys(client, redis_patterns)
        with fresh_databases(admin_dsn, databases):
            try:
                yield tmp, procs
            finally:
                procs.stop_all()
    finally:
        if client:
            clear_keys(client, redis_patterns)
            client.close()
        if keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def start_bare(
    procs: Processes, port: int, env: dict, workers: int = 2, threads: int = 4
) -> subprocess.Popen:
    """tests/load/bare_app.py on the gunicorn settings of `unionhub serve` (2 workers × 4 threads), or
    on the ones a bench compares, which it gives our service too."""
    return procs.start(
        "bare",
        [
            sys.executable, "-m", "gunicorn", "--pythonpath", str(HERE), "bare_app:create_app()",
            "--bind", f"{HOST}:{port}", "--workers", str(workers), "--threads", str(threads),
        ],
        env,
    )  # fmt: skip


def start_service(
    procs: Processes,
    name: str,
    port: int,
    env: dict,
    label: str | None = None,
    workers: int = 2,
    threads: int = 4,
):
    """A service by `unionhub serve` with its defaults (gunicorn 2 × 4, access log on), or the workers
    and threads a bench compares."""
    serve = cli("serve", name, "--port", str(port), "--host", HOST)
    return procs.start(label or name, [*serve, "--workers", str(workers), "--threads", str(threads)], env)


def start_worker(procs: Processes, name: str, metrics_port: int, env: dict, label: str | None = None):
    """A service's event worker by `unionhub worker` (relay, consumer, jobs), serving its bus metrics
    on ``metrics_port``."""
    return procs.start(
        label or f"{name}-worker",
        cli("worker", name),
        {**env, "UNIONHUB_WORKER_METRICS_PORT": str(metrics_port)},
    )


def start_fake(procs: Processes, name: str, port: int, env: dict):
    """A fake of services/registry.py FAKES on one process, as deploy/local/services.sh runs it: the
    identity fake keeps its SMS outbox in memory, which two workers would split."""
    return procs.start(name, cli("serve", name, "--port", str(port), "--host", HOST, "--workers", "1"), env)


def kill_group(proc: subprocess.Popen, sig: signal.Signals = signal.SIGKILL) -> None:
    """Signal a process we started and everything it forked (gunicorn's workers); wait for it to end
    when the signal ends it."""
    os.killpg(proc.pid, sig)
    if sig in (signal.SIGKILL, signal.SIGTERM):
        proc.wait(timeout=15)


# --- the gateway --------------------------------------------------------------------------------


def render_gateway(directory: Path, port: int, upstreams: dict[str, int]) -> Path:
    """deploy/nginx/gateway.conf.tmpl as deploy/local/infra.sh renders it, listening on ``port``, with
    each service of ``upstreams`` routed to that loopback port and every other to the discard port."""
    directory.mkdir(parents=True)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / "tmp" / sub).mkdir(parents=True)
    addrs = {f"{name.upper()}_ADDR": f"{HOST}:{p}" for name, p in upstreams.items()}
    values = {
        "NGINX_HOME_DIR": str(directory),
        "GATEWAY_HOST": HOST,
        "GATEWAY_PORT": str(port),
        # A template from before the registry names each upstream itself.
        **{f"{n}_ADDR": f"{HOST}:9" for n in ("ENROLMENT", "COURSES", "MERCHANTS", "STATIONS")},
        **addrs,
    }
    facts_path = REPO / "deploy/local/registry_facts.py"
    if facts_path.exists():  # the template takes its upstreams and routes from the registry
        spec = importlib.util.spec_from_file_location("registry_facts", facts_path)
        facts = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(facts)
        env = {f"{s.name.upper()}_ADDR": f"{HOST}:9" for s in facts.ALL}
        env.update(addrs)
        values["GATEWAY_UPSTREAMS"] = facts.gateway_upstreams(env)
        values["GATEWAY_LOCATIONS"] = facts.gateway_locations()
    text = (REPO / "deploy/nginx/gateway.conf.tmpl").read_text()
    # Only the listed names, as infra.sh's render does; nginx's own $variables stay.
    text = re.sub(r"\$\{([A-Z_]+)\}", lambda m: values.get(m.group(1), m.group(0)), text)
    # In the foreground, so it is our child and stops with us.
    text = text.replace("daemon on;", "daemon off;")
    conf = directory / "gateway.conf"
    conf.write_text(text)
    return conf


def start_gateway(
    procs: Processes, name: str, directory: Path, port: int, upstreams: dict[str, int], env: dict
) -> subprocess.Popen:
    conf = render_gateway(directory, port, upstreams)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    argv = [nginx, "-p", f"{directory}/", "-c", str(conf), "-e", str(directory / "error.log")]
    proc = procs.start(name, argv, env)
    wait_for(f"http://{HOST}:{port}/healthz", proc, name, procs.logs)
    return proc


@contextmanager
def serve_in_thread(wsgi_app, port: int, name: str) -> Iterator[str]:
    """A small WSGI app (a JWKS, a stand-in) on a loopback port, in this process; yields its URL."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request would drown the figures
    server = make_server(HOST, port, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


# --- load ---------------------------------------------------------------------------------------


@dataclass
class Rate:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx and socket errors
    tool: str

    def line(self) -> str:
        return (
            f"{self.name}: {self.rps:,.0f} req/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, "
            f"{self.requests} requests, {self.errors} errors ({self.tool})"
        )


def _wrk_ms(text: str, label: str) -> float:
    m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def ensure_wrk() -> str | None:
    if shutil.which("wrk"):
        return shutil.which("wrk")
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing; installing it with apt-get", flush=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True, timeout=300, check=False)
    return shutil.which("wrk")


def run_wrk(wrk: str, name: str, url: str, seconds: float, script: Path | None = None) -> Rate:
    """wrk with keep-alive connections; ``script`` (Lua) may choose each request's path."""
    argv = [wrk, f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{int(seconds)}s", "--latency"]
    if script:
        argv += ["-s", str(script)]
    done = subprocess.run([*argv, url], capture_output=True, text=True, timeout=seconds + 30, check=False)
    out = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, sock.groups())) if sock else 0)
    if not rps:
        sys.exit(f"wrk failed for {url}:\n{out}\n{done.stderr}")
    return Rate(
        name, float(rps.group(1)), _wrk_ms(out, "50%"), _wrk_ms(out, "99%"),
        int(total.group(1)) if total else 0, errors, f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS}",
    )  # fmt: skip


def run_python_load(name: str, urls: list[str], seconds: float) -> Rate:
    """A bounded stand-in for wrk: keep-alive connections, one thread each, for ``seconds``, each
    thread going round ``urls`` from its own starting point."""
    phase, deadline = Phase(name), time.monotonic() + seconds

    def client(n: int) -> None:
        session, i = session_from(), n * len(urls) // WRK_CONNECTIONS
        while time.monotonic() < deadline:
            begun = time.perf_counter()
            try:
                status = session.get(urls[i % len(urls)], timeout=10).status_code
            except requests.RequestException:
                status = 0
            phase.record(status, time.perf_counter() - begun)
            i += 1
        session.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(WRK_CONNECTIONS) as pool:
        list(pool.map(client, range(WRK_CONNECTIONS)))
    wall = time.perf_counter() - started
    ms = [x * 1000 for x in phase.latencies]
    ok = sum(n for s, n in phase.statuses.items() if 200 <= s < 400)
    return Rate(
        name, ok / wall, percentile(ms, 50), percentile(ms, 99), len(ms), len(ms) - ok,
        f"python, {WRK_CONNECTIONS} threads (wrk unavailable)",
    )  # fmt: skip


def load(wrk: str | None, name: str, url: str, seconds: float) -> Rate:
    rate = run_wrk(wrk, name, url, seconds) if wrk else run_python_load(name, [url], seconds)
    print("  " + rate.line(), flush=True)
    return rate


@dataclass
class Paced:
    name: str
    rate: float  # asked for
    achieved: float  # requests sent ÷ the time it took to send them
    p50_ms: float
    p99_ms: float
    max_ms: float
    service_p99_ms: float  # from when it was sent: the server's share
    lag_p99_ms: float  # how late the client sent: the client's own share
    requests: int
    errors: int

    def line(self) -> str:
        return (
            f"{self.name}: {self.achieved:,.0f} req/s sent of {self.rate:,.0f} asked, "
            f"p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms "
            "(from each request's scheduled time); from its sending p99 "
            f"{self.service_p99_ms:.1f} ms; client lag p99 {self.lag_p99_ms:.1f} ms; "
            f"{self.requests} requests, {self.errors} errors"
        )


def run_paced(
    name: str,
    urls: list[str],
    rate: float,
    seconds: float,
    threads: int = 32,
    send: Callable[[requests.Session, int], requests.Response] | None = None,
) -> Paced:
    """Open-loop load at a fixed rate: request i is due at start + i / rate, whoever sends it; its
    latency counts from that moment, so a slow answer cannot hide the requests queued behind it.
    Request i is a GET of ``urls[i % len(urls)]``, or whatever ``send(session, i)`` sends."""
    total = int(rate * seconds)
    lock, state = threading.Lock(), {"next": 0}
    phase, lags, service = Phase(name), [], []
    start = time.perf_counter() + 0.5  # every thread has its session before the first is due
    deadline = time.monotonic() + seconds + 30

    def client() -> None:
        session = session_from()
        while time.monotonic() < deadline:
            with lock:
                i = state["next"]
                if i >= total:
                    break
                state["next"] = i + 1
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            sent = time.perf_counter()
            try:
                if send:
                    status = send(session, i).status_code
                else:
                    status = session.get(urls[i % len(urls)], timeout=10).status_code
            except requests.RequestException:
                status = 0
            done = time.perf_counter()
            phase.record(status, done - due)
            with lock:
                lags.append(sent - due)
                service.append(done - sent)
        session.close()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: client(), range(threads)))
    wall = time.perf_counter() - start
    ms = [x * 1000 for x in phase.latencies]
    ok = sum(n for s, n in phase.statuses.items() if 200 <= s < 400)
    return Paced(
        name, rate, len(ms) / wall if wall > 0 else 0.0, percentile(ms, 50), percentile(ms, 99),
        max(ms, default=float("nan")), percentile([x * 1000 for x in service], 99),
        percentile([x * 1000 for x in lags], 99), len(ms), len(ms) - ok,
    )  # fmt: skip


def ratio(ours: float, bare: float) -> float:
    return ours / bare if bare else float("nan")


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def first_in_round(number: int) -> str:
    """Which burst of round ``number`` goes first, "bare" or "ours": it alternates, so that neither
    side always meets the machine as the other left it."""
    return "bare" if number % 2 else "ours"


def median_verdict(shares: list[float], target: float) -> str:
    """The rounds' throughput ratios judged by their median: the machine's speed drifts by a fifth
    from one minute to the next (docs/benchmarks.md), more than one pair of bursts can tell apart."""
    middle = statistics.median(shares)
    return (
        f"throughput ratio, the median of {len(shares)} rounds ({', '.join(f'{x:.2f}×' for x in shares)}): "
        f"{middle:.3f}× (target ≥ {target}×: {verdict(middle >= target)})"
    )


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"


# --- profiling ----------------------------------------------------------------------------------


class Profiler:
    """py-spy on every gunicorn worker of ours during a phase; raw collapsed stacks per phase."""

    def __init__(self, directory: Path | None, wall: bool = False):
        self.directory = directory
        # --gil: where the Python CPU goes; wall: where the request threads spend their time,
        # waiting on the database and locks included.
        self.mode = ["--idle"] if wall else ["--gil"]
        self.py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if directory:
            directory.mkdir(parents=True, exist_ok=True)
            if not Path(self.py_spy).exists():
                sys.exit("--profile needs py-spy: .venv/bin/pip install py-spy (it is in the dev extras)")

    def around(self, phase: str, masters: list[int], seconds: float):
        if not self.directory:
            return _NoProfile()
        return _Sampling(self, phase, masters, seconds)


class _NoProfile:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Sampling:
    def __init__(self, profiler: Profiler, phase: str, masters: list[int], seconds: float):
        self.profiler, self.phase, self.seconds = profiler, phase, seconds
        self.pids = [w for m in masters for w in gunicorn_workers(m)]
        self.procs: list[subprocess.Popen] = []
        self.files: list[Path] = []

    def __enter__(self):
        for pid in self.pids:
            out = self.profiler.directory / f"{self.phase}-{pid}.txt"
            self.files.append(out)
            self.procs.append(
                subprocess.Popen(
                    [
                        self.profiler.py_spy, "record", "--pid", str(pid), *self.profiler.mode,
                        "--rate", "200",
                        "--format", "raw", "--duration", str(int(self.seconds) + 60),
                        "--output", str(out), "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )  # fmt: skip
        time.sleep(1.0)  # py-spy attaches before the load starts
        return self

    def __exit__(self, *exc):
        for proc in self.procs:
            proc.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        summarise(self.phase, self.files)
        return False


def _frame_name(frame: str) -> str:
    # py-spy raw frames: "function (path/to/file.py:line)"; keep the function and a short path.
    m = re.match(r"(.*) \((.*?):(\d+)\)$", frame)
    if not m:
        return frame
    path = m.group(2)
    for marker in ("site-packages/", "/work/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m.group(1)} ({path})"


# The frames every sample shares (thread start, gunicorn's loop): they say nothing.
_SCAFFOLD = ("threading.py", "concurrent/futures", "runpy", "gunicorn/arbiter", "gunicorn/app/",
             "gunicorn/__main__", "init_process", "ThreadWorker.run", "ThreadWorker.handle (")  # fmt: skip


def summarise(phase: str, files: list[Path], top: int = 30) -> None:
    own, inclusive, total = collections.Counter(), collections.Counter(), 0
    for file in files:
        if not file.exists():
            continue
        for line in file.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [_frame_name(f) for f in stack.split(";")]
            total += n
            own[frames[-1]] += n
            for name in set(frames):
                inclusive[name] += n
    if not total:
        print(f"  profile {phase}: no samples")
        return
    print(f"  profile {phase}: {total} samples; inclusive (own) share:")
    shown = [(name, n) for name, n in inclusive.most_common() if not any(s in name for s in _SCAFFOLD)]
    for name, n in shown[:top]:
        print(f"    {100 * n / total:5.1f}% ({100 * own[name] / total:4.1f}%)  {name}")
    print("    top own time:")
    for name, n in own.most_common(12):
        print(f"    {100 * n / total:5.1f}%  {name}")


# --- set-up the benches share ---------------------------------------------------------------------
# What a bench makes before it measures, through the API where the API makes it and straight into a
# projection where an event would have made it (the event path is measured by bench_bus.py).

BRANCH = ("b-1", ("root", "b-1"))  # a branch and its path from the root, where a stand-in plays enrolment


def bearer(issuer, subject: str, roles: list[str], **scopes) -> str:
    return "Bearer " + issuer.issue(subject, roles, **scopes)[0]


def add_members(
    dsn: str, member_ids: list[str], branch: tuple[str, tuple[str, ...]] = BRANCH, card_numbers: bool = False
) -> None:
    """Rows of a service's member projection (services/common/members.py), as a member.joined event
    would leave them: active members of ``branch``, with a card number where ``card_numbers``."""
    at = datetime.now(UTC)
    branch_id, path = branch[0], json.dumps(list(branch[1]))
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY members (member_id, status, branch_id, branch_path, card_no, updated_at) FROM STDIN"
        ) as copy:
            for n, member_id in enumerate(member_ids):
                copy.write_row(
                    (member_id, "active", branch_id, path, f"GZ{n:010d}" if card_numbers else None, at)
                )


def clear_keys(client, patterns: tuple[str, ...]) -> None:
    """Our keys in our Redis db, from this run or one that was cut short."""
    for pattern in patterns:
        batch = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) == 1000:
                client.delete(*batch)
                batch = []
        if batch:
            client.delete(*batch)


def _post(session: requests.Session, base: str, path: str, body: dict, headers: dict) -> dict:
    response = session.post(base + path, json=body, headers=headers, timeout=30)
    if response.status_code != 201:
        raise SystemExit(f"setup: POST {path} answered {response.status_code}: {response.text[:300]}")
    return response.json()


# courses


def create_term(base: str, admin: str, branch_id: str, opens_at: datetime) -> str:
    """A term of ``branch_id`` whose booking opens at ``opens_at`` and closes a week later."""
    today = datetime.now(SHANGHAI).date()
    with requests.Session() as session:
        return _post(
            session, base, "/api/v1/terms",
            {
                "name": "压测学期",
                "branch_id": branch_id,
                "booking_opens_at": opens_at.isoformat(),
                "booking_closes_at": (opens_at + timedelta(days=7)).isoformat(),
                "starts_on": (today + timedelta(days=8)).isoformat(),
                "ends_on": (today + timedelta(days=60)).isoformat(),
            },
            {"Authorization": admin},
        )["id"]  # fmt: skip


def create_course(base: str, admin: str, term_id: str, capacity: int, title: str = "压测瑜伽") -> str:
    """A published course of ``capacity`` seats in ``term_id``."""
    headers = {"Authorization": admin}
    with requests.Session() as session:
        course_id = _post(
            session, base, "/api/v1/courses",
            {
                "term_id": term_id,
                "title": title,
                "category": "yoga",
                "capacity": capacity,
                "schedule": {"weekdays": [2, 4], "start": "19:00", "minutes": 90},
            },
            headers,
        )["id"]  # fmt: skip
        session.post(
            f"{base}/api/v1/courses/{course_id}/publish", headers=headers, timeout=30
        ).raise_for_status()
    return course_id


# merchants

STEPS = [[5000, 500], [10000, 1200], [20000, 3000]]  # fen: 满50减5, 满100减12, 满200减30
BILL_FEN = (5000, 30000)  # a bill of ¥50–300, so a step of the offer always applies
GUIYANG = (26.647, 106.630)


def expected_discount(amount_fen: int) -> int:
    return max((off for threshold, off in STEPS if amount_fen >= threshold), default=0)


def create_merchant(
    base: str, admin: str, budget_fen: int, stores: int, tills_per_store: int, rng, branch_id: str = BRANCH[0]
):
    """A merchant of ``branch_id`` (the union subsidises half of each discount), its stores around
    Guiyang, a 满减 offer (``STEPS``, one use per member a day, a money budget of ``budget_fen``) in a
    benefit week that covers today, and its till logins, each serving one store, through the API:
    (offer id, store ids, each store's till staff ids)."""
    session, headers = requests.Session(), {"Authorization": admin}

    def post(path: str, body: dict) -> dict:
        return _post(session, base, path, body, headers)

    merchant_id = post(
        "/api/v1/merchants",
        {"name": "压测超市", "category": "超市", "branch_id": branch_id, "union_share_percent": 50},
    )["id"]
    store_ids = [
        post(
            f"/api/v1/merchants/{merchant_id}/stores",
            {
                "name": f"压测超市{n + 1}号店",
                "address": f"贵阳市压测路{n + 1}号",
                "lat": round(rng.gauss(GUIYANG[0], 0.05), 6),
                "lng": round(rng.gauss(GUIYANG[1], 0.05), 6),
            },
        )["id"]
        for n in range(stores)
    ]
    at, today = datetime.now(UTC), datetime.now(SHANGHAI).date()
    offer_id = post(
        "/api/v1/offers",
        {
            "merchant_id": merchant_id,
            "title": "普惠周满减",
            "kind": "threshold",
            "steps": STEPS,
            "starts_at": (at - timedelta(hours=1)).isoformat(),
            "ends_at": (at + timedelta(days=1)).isoformat(),
            "benefit_weeks": [
                [(today - timedelta(days=1)).isoformat(), (today + timedelta(days=5)).isoformat()]
            ],
            "member_limit": 1,
            "limit_period": "day",
            "budget_kind": "money",
            "budget_total": budget_fen,
        },
    )["id"]
    tills = {
        store_id: [
            post(
                f"/api/v1/merchants/{merchant_id}/staff",
                {"username": f"till-{n}-{t}", "password": "bench-till-password", "store_ids": [store_id]},
            )["id"]
            for t in range(tills_per_store)
        ]
        for n, store_id in enumerate(store_ids)
    }
    session.close()
    return offer_id, store_ids, tills


# stations: where they are and where couriers ask

BOX = {"lat": (24.6, 29.2), "lng": (103.6, 109.6)}  # Guizhou's bounding box
# The seats of Guizhou's nine prefectures: (lat, lng, the prefecture's population in millions, 2020 census).
CITIES = {
    "贵阳": (26.647, 106.630, 6.0),
    "遵义": (27.725, 106.927, 6.6),
    "毕节": (27.302, 105.285, 6.9),
    "六盘水": (26.593, 104.830, 3.0),
    "安顺": (26.253, 105.948, 2.5),
    "铜仁": (27.718, 109.191, 3.3),
    "凯里": (26.583, 107.977, 3.8),
    "都匀": (26.259, 107.518, 3.5),
    "兴义": (25.088, 104.895, 3.0),
}
CITY_SIGMA_DEG = 0.1  # about 11 km north-south
# How likely a station offers each amenity; the queries ask for one of the common ones.
AMENITY_ODDS = {
    "water": 0.9, "charging": 0.7, "microwave": 0.5, "ac_heating": 0.6, "toilet": 0.5, "first_aid": 0.4,
    "fridge": 0.3, "lockers": 0.3, "ebike_parking": 0.6, "truck_parking": 0.1,
}  # fmt: skip
QUERY_AMENITIES = ("water", "charging", "microwave", "ac_heating", "toilet")
HOURS = (("24/7", 0.3), ("Mo-Fr 08:00-20:00; PH off", 0.4), ("Mo-Su 07:00-22:00", 0.15),
         ("Mo-Sa 09:00-21:00; Su off", 0.15))  # fmt: skip
RADIUS_M, LIMIT = 5000, 20


def point(rng, city_share: float) -> tuple[float, float]:
    if rng.random() < city_share:
        lat, lng, _ = rng.choices(list(CITIES.values()), weights=[c[2] for c in CITIES.values()])[0]
        lat, lng = rng.gauss(lat, CITY_SIGMA_DEG), rng.gauss(lng, CITY_SIGMA_DEG)
        return min(max(lat, BOX["lat"][0]), BOX["lat"][1]), min(max(lng, BOX["lng"][0]), BOX["lng"][1])
    return rng.uniform(*BOX["lat"]), rng.uniform(*BOX["lng"])


def stations(rng, count: int, city_share: float) -> list[tuple]:
    """Rows of stations' ``stations`` table: a ``city_share`` around the prefecture seats (weighted by
    population), the rest uniform over the box; amenities drawn per station, opening hours from HOURS."""
    at = datetime.now(UTC)
    rows = []
    for n in range(count):
        lat, lng = point(rng, city_share)
        amenities = [a for a, odds in AMENITY_ODDS.items() if rng.random() < odds]
        hours = rng.choices([h for h, _ in HOURS], weights=[w for _, w in HOURS])[0]
        rows.append((
            str(uuid.uuid4()), f"压测驿站{n}", f"贵州省压测路{n}号", round(lat, 6), round(lng, 6), BRANCH[0],
            json.dumps(list(BRANCH[1])), json.dumps(amenities), hours, rng.randint(0, 12), 1, "closed",
            "bench", at,
        ))  # fmt: skip
    return rows


def insert_stations(dsn: str, rows: list[tuple]) -> None:
    columns = (
        "id, name, address, lat, lng, branch_id, branch_path, amenities, opening_hours, lockers,"
        " qr_generation, status, created_by, created_at"
    )
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY stations ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def queries(rng, count: int, city_share: float) -> tuple[list[str], list[str]]:
    """Paths of the finder and of the bare ``/geo``, the same points in the same order: radius 5 km,
    one amenity, open now, 20 at most."""
    ours, bare = [], []
    for _ in range(count):
        lat, lng = point(rng, city_share)
        where = f"lat={lat:.5f}&lng={lng:.5f}&radius_m={RADIUS_M}"
        ours.append(
            f"/api/v1/stations?{where}&amenity={rng.choice(QUERY_AMENITIES)}&open_now=true&limit={LIMIT}"
        )
        bare.append(f"/geo?{where}")
    return ours, bare


# enrolment: workers who log in and join


def admin_login(base: str, password: str) -> str:
    """The bootstrap federation admin's Authorization header (username ``admin``)."""
    login = requests.post(
        f"{base}/api/v1/auth/staff/login", json={"username": "admin", "password": password}, timeout=10
    )
    login.raise_for_status()
    return f"Bearer {login.json()['access_token']}"


def campaign_for(base: str, admin: str) -> dict:
    """A new branch under the root and a campaign of it, through the API; the campaign as answered
    (its ``branch_id``, ``code``, ``join_url``)."""
    with requests.Session() as session:
        session.headers["Authorization"] = admin
        root = next(
            u for u in session.get(f"{base}/api/v1/branches", timeout=10).json() if not u["parent_id"]
        )
        tag = uuid.uuid4().hex[:6]
        branch = _post(
            session, base, "/api/v1/branches", {"name": f"压测分会{tag}", "parent_id": root["id"]}, {}
        )
        return _post(
            session, base, "/api/v1/campaigns", {"branch_id": branch["id"], "name": f"压测{tag}"}, {}
        )


def join_body(campaign_code: str) -> dict:
    return {
        "campaign_code": campaign_code,
        "name": "压测",
        "mobile": f"13{uuid.uuid4().int % 1_000_000_000:09d}",
        "id_number": resident_id(),
        "employer": "压测公司",
        "occupation": "骑手",
        "consent": True,
    }


def wechat_logins(base: str, count: int, clients: int, max_seconds: float) -> tuple[Phase, list[str]]:
    """``count`` WeChat logins, each with a wx.login code of its own (so an openid of its own)."""
    phase, tokens, lock = Phase("wechat login"), [], threading.Lock()
    deadline = time.monotonic() + max_seconds
    per_client = [count // clients + (i < count % clients) for i in range(clients)]

    def log_in(n: int) -> None:
        session = session_from()
        for _ in range(n):
            if time.monotonic() > deadline:
                break
            begun = time.perf_counter()
            response = session.post(
                f"{base}/api/v1/auth/wechat", json={"code": f"bench-{uuid.uuid4().hex}"}, timeout=30
            )
            phase.record(response.status_code, time.perf_counter() - begun)
            if response.status_code == 200:
                with lock:
                    tokens.append(response.json()["access_token"])
        session.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(log_in, per_client))
    phase.wall = time.perf_counter() - started
    return phase, tokens


def prepare_joins(
    base: str, tokens: list[str], campaign_code: str, identity: str | None, clients: int, max_seconds: float
) -> list[tuple[str, dict]]:
    """A join body per token; where joining needs a texted code, asked for and read from the fake
    (``identity``: its outbox, directly or as the local gateway routes it).

    Not timed: the code's text goes to a phone in real life, minutes before the join.
    """
    deadline = time.monotonic() + max_seconds

    def one(token: str) -> tuple[str, dict] | None:
        body = join_body(campaign_code)
        if identity:
            if time.monotonic() > deadline:
                return None
            with requests.Session() as session:
                sent = session.post(
                    f"{base}/api/v1/join/sms-code",
                    json={"mobile": body["mobile"]},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
                if sent.status_code != 202:
                    return None
                texts = session.get(
                    f"{identity}/fake/sms/messages", params={"mobile": body["mobile"]}, timeout=10
                ).json()
                body["sms_code"] = texts[0]["code"]
        return token, body

    with ThreadPoolExecutor(clients) as pool:
        prepared = [p for p in pool.map(one, tokens) if p]
    if len(prepared) < len(tokens):
        print(f"  only {len(prepared)} of {len(tokens)} join codes could be had", flush=True)
    return prepared


def enrol(
    base: str, identity: str, campaign_code: str, count: int, clients: int = 8
) -> list[tuple[str, str]]:
    """``count`` workers who log in and join through the campaign for real (a texted code read from
    the identity fake, name and ID number checked by it): each member's Authorization header, from
    the join's answer, and member id. A join refused is left out and its answer printed: set-up goes
    on with the members it has, and says how many."""
    _, tokens = wechat_logins(base, count, clients, max_seconds=120)
    prepared = prepare_joins(base, tokens, campaign_code, identity, clients, max_seconds=120)

    def join(item: tuple[str, dict]) -> tuple[str, str] | None:
        token, body = item
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
        response = requests.post(f"{base}/api/v1/join", json=body, headers=headers, timeout=30)
        if response.status_code != 201:
            print(f"  a set-up join answered {response.status_code}: {response.text[:200]}", flush=True)
            return None
        answer = response.json()
        return f"Bearer {answer['access_token']}", answer["member_id"]

    with ThreadPoolExecutor(clients) as pool:
        return [joined for joined in pool.map(join, prepared) if joined]


# --- where the CPU goes -------------------------------------------------------------------------


class CpuUse:
    """The CPU time each part used during a phase, from /proc; ``parts`` name a function that lists
    the part's pids (asked again at the end, for processes started meanwhile). The client is this
    process, every thread of it."""

    def __init__(self, parts: dict[str, Callable[[], list[int]]]):
        self.parts = parts
        self.used: dict[str, float] = {}

    def __enter__(self):
        self.before = {name: {p: cpu_seconds([p]) for p in pids()} for name, pids in self.parts.items()}
        self.client = time.process_time()
        return self

    def __exit__(self, *exc):
        self.used = {
            name: sum(cpu_seconds([p]) - self.before[name].get(p, 0.0) for p in pids())
            for name, pids in self.parts.items()
        }
        self.used["client"] = time.process_time() - self.client
        return False

    def line(self, requests_sent: int) -> str:
        per = {name: 1e6 * used / max(1, requests_sent) for name, used in self.used.items()}
        parts = ", ".join(f"{name} {us:,.0f}" for name, us in per.items() if us >= 0.5)
        return f"CPU per request (µs): {parts}; all {sum(per.values()):,.0f}"


def tree(pid: int) -> list[int]:
    return [pid, *gunicorn_workers(pid)]  # a master and its children: gunicorn's workers, nginx's


def backends(admin_dsn: str, database: str) -> Callable[[], list[int]]:
    def pids() -> list[int]:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))
            return [r[0] for r in rows]

    return pids


def serving(
    gunicorn: int,
    admin_dsn: str,
    database: str,
    *,
    gateway: int | None = None,
    redis_pids: list[int] | None = None,
) -> dict[str, Callable[[], list[int]]]:
    """``CpuUse``'s parts for an app a benchmark serves: its gunicorn (the master's pid), the
    gateway's nginx in front of it, its database's backends, and the Redis it uses (``redis_server``)."""
    parts = {"gunicorn": lambda: tree(gunicorn)}
    if gateway is not None:
        parts["nginx"] = lambda: tree(gateway)
    parts["PostgreSQL"] = backends(admin_dsn, database)
    if redis_pids is not None:
        parts["Redis"] = lambda: redis_pids
    return parts


def redis_server(client) -> list[int]:
    """The Redis server's pid when it runs on this machine as a process we can see; shared with
    whatever else uses that Redis."""
    pid = client.info("server").get("process_id")
    try:
        return [pid] if "redis" in Path(f"/proc/{pid}/comm").read_text() else []
    except OSError:
        return []
