"""What the load benchmarks of tests/load/ share: starting and stopping what they measure, a gateway
of their own, the load runners, and py-spy around a phase.

Every bench starts everything it measures on loopback ports of its own and stops exactly that at
the end (by pid, process group included); it touches nothing that is running. Every loop here is
bounded by a count or a deadline.

Not a test (pytest collects test_*.py only).
"""

from __future__ import annotations

import collections
import importlib.util
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for path in (str(REPO), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from bench_enrolment import Phase, percentile, session_from  # noqa: E402

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
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_bare(procs: Processes, port: int, env: dict) -> subprocess.Popen:
    """tests/load/bare_app.py on the gunicorn settings of `unionhub serve` (2 workers × 4 threads)."""
    return procs.start(
        "bare",
        [
            sys.executable, "-m", "gunicorn", "--pythonpath", str(HERE), "bare_app:create_app()",
            "--bind", f"{HOST}:{port}", "--workers", "2", "--threads", "4",
        ],
        env,
    )  # fmt: skip


def start_service(procs: Processes, name: str, port: int, env: dict, label: str | None = None):
    """A service by `unionhub serve` with its defaults (gunicorn 2 × 4, access log on)."""
    return procs.start(
        label or name,
        cli("serve", name, "--port", str(port), "--host", HOST, "--workers", "2", "--threads", "4"),
        env,
    )


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
