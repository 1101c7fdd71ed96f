"""What our request path costs, against a bare Flask app on the same gunicorn settings, in ONE run.

    .venv/bin/python tests/load/bench_request_path.py [--seconds 10] [--joins 600] [--clients 8]
        [--profile DIR]

Not a test (pytest collects test_*.py only). It starts everything it measures on loopback ports
of its own and stops it at the end; it touches nothing that is running:

* the bare app (tests/load/bare_app.py) on :8300, its own PostgreSQL database;
* enrolment on PostgreSQL on :8301 (a fresh database ``unionhub_bench_<tag>`` on 127.0.0.1:55432)
  and enrolment on SQLite on :8302 (the quick start's engine), each with its own UNIONHUB_HOME in
  a temporary directory, Redis db 12, ``unionhub serve`` defaults (gunicorn 2 workers × 4 threads,
  access log on), and ``unionhub db upgrade enrolment`` first where that command exists;
* the WeChat fake on :8399 (and the identity fake on :8398 where the registry lists one: joins
  then first ask for a texted code and read it from the fake, untimed), and a gateway of our own
  for each enrolment: nginx from
  deploy/nginx/gateway.conf.tmpl on :8310 (→ :8301, PostgreSQL) and :8311 (→ :8302, SQLite).

Then, one after the other on the same machine:

1. wrk (2 threads, 32 connections, ``--seconds`` each): ``/healthz`` against the bare ``/json``;
   the scan page ``GET /api/v1/join/{code}`` (PostgreSQL and SQLite, direct and through the
   gateway) against the bare ``/incr``.
2. Joins: ``--joins`` WeChat logins, then as many joins by ``--clients`` threads, with the code of
   tests/load/bench_enrolment.py; the same client and bodies against the bare ``/join``.

It prints each figure with its baseline and the ratio. ``--profile DIR`` samples our gunicorn
workers with py-spy (``--gil``: where the Python CPU goes; with ``--profile-wall`` where the
threads wait too) during every phase of ours and prints the top frames; figures from such a run
carry the profiler's overhead and are marked so.

Every loop is bounded by a count and a deadline; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
import requests

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for path in (str(REPO), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

from bench_enrolment import Phase, machine, percentile, resident_id, session_from  # noqa: E402

try:
    from services.registry import FAKES  # noqa: E402
except ImportError:  # a tree from before the registry listed its fakes
    FAKES = {"wechat": 8199}

HOST = "127.0.0.1"
PORTS = {"bare": 8300, "pg": 8301, "sqlite": 8302, "gw-pg": 8310, "gw-sqlite": 8311}
PORTS.update(wechat=8399, identity=8398)
REDIS_URL = "redis://127.0.0.1:6379/12"  # a db of our own: the running system and the tests use others
ADMIN_PASSWORD = "bench-admin-password"
WRK_THREADS, WRK_CONNECTIONS = 2, 32
START_TIMEOUT = 90.0

# Targets of the issue, as (ratio at least, p99 below ms).
TARGETS = {"healthz": 0.8, "scan": 0.5, "join": 0.5}
P99_TARGET_MS = 200.0


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


def serve_pid(proc: subprocess.Popen) -> int:
    # `unionhub serve` execs gunicorn, so the pid we started is gunicorn's master.
    return proc.pid


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "services.cli", *args]


def has_db_upgrade(env: dict) -> bool:
    done = subprocess.run(
        cli("db", "--help"), cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return done.returncode == 0 and "upgrade" in done.stdout


def render_gateway(directory: Path, port: int, enrolment_port: int) -> Path:
    directory.mkdir(parents=True)
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / "tmp" / sub).mkdir(parents=True)
    values = {
        "NGINX_HOME_DIR": str(directory),
        "GATEWAY_HOST": HOST,
        "GATEWAY_PORT": str(port),
        "ENROLMENT_ADDR": f"{HOST}:{enrolment_port}",
        # Planned services: routed, never called here.
        "COURSES_ADDR": f"{HOST}:9",
        "MERCHANTS_ADDR": f"{HOST}:9",
        "STATIONS_ADDR": f"{HOST}:9",
    }
    facts_path = REPO / "deploy/local/registry_facts.py"
    if facts_path.exists():  # the template takes its upstreams and routes from the registry
        spec = importlib.util.spec_from_file_location("registry_facts", facts_path)
        facts = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(facts)
        env = {f"{s.name.upper()}_ADDR": f"{HOST}:9" for s in facts.ALL}
        env["ENROLMENT_ADDR"] = f"{HOST}:{enrolment_port}"
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


def run_wrk(wrk: str, name: str, url: str, seconds: float) -> Rate:
    done = subprocess.run(
        [wrk, f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{int(seconds)}s", "--latency", url],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    )
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


def run_python_load(name: str, url: str, seconds: float) -> Rate:
    """A bounded stand-in for wrk: keep-alive connections, one thread each, for ``seconds``."""
    phase, deadline = Phase(name), time.monotonic() + seconds

    def client() -> None:
        session = session_from()
        while time.monotonic() < deadline:
            begun = time.perf_counter()
            try:
                status = session.get(url, timeout=10).status_code
            except requests.RequestException:
                status = 0
            phase.record(status, time.perf_counter() - begun)
        session.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(WRK_CONNECTIONS) as pool:
        list(pool.map(lambda _: client(), range(WRK_CONNECTIONS)))
    wall = time.perf_counter() - started
    ms = [x * 1000 for x in phase.latencies]
    ok = sum(n for s, n in phase.statuses.items() if 200 <= s < 400)
    return Rate(
        name, ok / wall, percentile(ms, 50), percentile(ms, 99), len(ms), len(ms) - ok,
        f"python, {WRK_CONNECTIONS} threads (wrk unavailable)",
    )  # fmt: skip


def load(wrk: str | None, name: str, url: str, seconds: float) -> Rate:
    rate = run_wrk(wrk, name, url, seconds) if wrk else run_python_load(name, url, seconds)
    print("  " + rate.line(), flush=True)
    return rate


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
    """A join body per token; where joining needs a texted code, asked for and read from the fake.

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


def joins(name: str, url: str, prepared: list[tuple[str, dict]], clients: int, max_seconds: float) -> Phase:
    """One join per prepared body by ``clients`` threads, as tests/load/bench_enrolment.py does."""
    phase, queue, lock = Phase(name), list(prepared), threading.Lock()
    deadline = time.monotonic() + max_seconds

    def join_all() -> None:
        session = session_from()
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    break
                token, body = queue.pop()
            begun = time.perf_counter()
            response = session.post(
                url,
                json=body,
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
                timeout=30,
            )
            phase.record(response.status_code, time.perf_counter() - begun)
            if response.status_code != 201 and not failures:
                failures.append(response.text[:300])
        session.close()

    failures: list[str] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _: join_all(), range(clients)))
    phase.wall = time.perf_counter() - started
    print("  " + phase.report(201), flush=True)
    if failures:
        print(f"  first failure: {failures[0]}", flush=True)
    return phase


def join_figures(phase: Phase) -> tuple[float, float]:
    ms = [x * 1000 for x in phase.latencies]
    return (phase.ok(201) / phase.wall if phase.wall else 0.0), percentile(ms, 99)


def campaign_for(base: str) -> dict:
    admin = requests.Session()
    login = admin.post(
        f"{base}/api/v1/auth/staff/login", json={"username": "admin", "password": ADMIN_PASSWORD}, timeout=10
    )
    login.raise_for_status()
    admin.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    root = next(u for u in admin.get(f"{base}/api/v1/branches", timeout=10).json() if not u["parent_id"])
    tag = uuid.uuid4().hex[:6]
    branch = admin.post(
        f"{base}/api/v1/branches", json={"name": f"压测分会{tag}", "parent_id": root["id"]}, timeout=10
    )
    branch.raise_for_status()
    campaign = admin.post(
        f"{base}/api/v1/campaigns", json={"branch_id": branch.json()["id"], "name": f"压测{tag}"}, timeout=10
    )
    campaign.raise_for_status()
    admin.close()
    return campaign.json()


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


# --- the run ------------------------------------------------------------------------------------


def ratio(ours: float, bare: float) -> float:
    return ours / bare if bare else float("nan")


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per wrk run (at most 20)")
    parser.add_argument("--joins", type=int, default=600, help="per join run")
    parser.add_argument("--clients", type=int, default=8, help="join client threads")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="per login or join phase")
    parser.add_argument(
        "--postgres", default="postgresql://unionhub:unionhub@127.0.0.1:55432/postgres",
        help="the maintenance database of the local PostgreSQL (deploy/local/infra.sh env)",
    )  # fmt: skip
    parser.add_argument("--profile", type=Path, help="sample our workers with py-spy into this directory")
    parser.add_argument(
        "--profile-wall", action="store_true", help="sample waiting threads too, not only the GIL holder"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and logs")
    args = parser.parse_args()
    seconds = max(1.0, min(args.seconds, 20.0))
    joins_n = max(1, min(args.joins, 5000))

    wrk = ensure_wrk()
    if not wrk:
        print("wrk is not available; using the bounded Python load generator", flush=True)
    tag = uuid.uuid4().hex[:8]
    tmp = Path(tempfile.mkdtemp(prefix=f"unionhub-bench-{tag}-"))
    logs = tmp / "logs"
    logs.mkdir()
    pg_admin = psycopg.conninfo.conninfo_to_dict(args.postgres)
    databases = {"pg": f"unionhub_bench_{tag}", "bare": f"unionhub_bench_{tag}_bare"}
    procs = Processes(logs)
    profiler = Profiler(args.profile, wall=args.profile_wall)
    print("machine:", machine().split("; enrolment gunicorn")[0])
    print(f"load: {os.getloadavg()[0]:.2f} (1 min) at start; temporary home {tmp}", flush=True)

    with psycopg.connect(args.postgres, autocommit=True) as conn:
        for name in databases.values():
            conn.execute(f'CREATE DATABASE "{name}"')

    def pg_url(database: str, driver: str = "postgresql+psycopg") -> str:
        return (
            f"{driver}://{pg_admin.get('user', 'unionhub')}:{pg_admin.get('password', '')}"
            f"@{pg_admin.get('host', HOST)}:{pg_admin.get('port', '55432')}/{database}"
        )

    try:
        base_env = {
            k: v for k, v in os.environ.items() if not k.startswith("UNIONHUB_") and k not in (
                "DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP", "PUBLIC_BASE_URL", "JWKS_URL",
            )
        }  # fmt: skip
        base_env.update(PYTHONPATH=str(REPO), REDIS_URL=REDIS_URL, UNIONHUB_LOG_LEVEL="WARNING")

        # The bare app.
        bare_env = {**base_env, "BARE_DATABASE_URL": pg_url(databases["bare"], "postgresql"),
                    "BARE_REDIS_URL": REDIS_URL}  # fmt: skip
        bare = procs.start(
            "bare",
            [
                sys.executable, "-m", "gunicorn", "--pythonpath", str(HERE), "bare_app:create_app()",
                "--bind", f"{HOST}:{PORTS['bare']}", "--workers", "2", "--threads", "4",
            ],
            bare_env,
        )  # fmt: skip

        # The WeChat fake, then enrolment on each database.
        wechat = procs.start(
            "wechat", cli("serve", "wechat", "--port", str(PORTS["wechat"]), "--host", HOST), base_env
        )
        identity = None
        if "identity" in FAKES:  # joining checks name and ID number, and a texted code, with it
            identity = f"http://{HOST}:{PORTS['identity']}"
            identity_proc = procs.start(
                "identity",
                # One process: the fake keeps the texts it sent in memory.
                cli("serve", "identity", "--port", str(PORTS["identity"]), "--host", HOST, "--workers", "1"),
                base_env,
            )
        enrolment_env = {
            **base_env,
            "UNIONHUB_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "UNIONHUB_WECHAT_CODE2SESSION_URL": f"http://{HOST}:{PORTS['wechat']}/sns/jscode2session",
            # Our own instance: the per-address login limit would only measure the limiter.
            "UNIONHUB_LOGIN_LIMIT_PER_MINUTE": "1000000",
            "UNIONHUB_KAFKA_BOOTSTRAP": f"{HOST}:9",  # no relay runs here; nothing should reach Kafka
        }
        if identity:
            enrolment_env["UNIONHUB_IDENTITY_VERIFY_URL"] = f"{identity}/identity/verify"
            enrolment_env["UNIONHUB_SMS_SEND_URL"] = f"{identity}/sms/send"
        servers = {}
        upgrade = None
        for kind in ("pg", "sqlite"):
            env = {**enrolment_env, "UNIONHUB_HOME": str(tmp / kind)}
            env["DATABASE_URL"] = (
                pg_url(databases["pg"]) if kind == "pg" else f"sqlite:///{tmp / kind / 'enrolment.db'}"
            )
            (tmp / kind).mkdir()
            if upgrade is None:
                upgrade = has_db_upgrade(env)
                print(
                    "schema: `unionhub db upgrade enrolment`" if upgrade
                    else "schema: no `unionhub db upgrade`; the app creates its tables at start",
                    flush=True,
                )  # fmt: skip
            if upgrade:
                done = subprocess.run(
                    cli("db", "upgrade", "enrolment"), cwd=REPO, env=env, capture_output=True, text=True,
                    timeout=120, check=False,
                )  # fmt: skip
                if done.returncode:
                    sys.exit(f"db upgrade failed for {kind}:\n{done.stdout}\n{done.stderr}")
            servers[kind] = procs.start(
                f"enrolment-{kind}",
                cli("serve", "enrolment", "--port", str(PORTS[kind]), "--host", HOST,
                    "--workers", "2", "--threads", "4"),
                env,
            )  # fmt: skip
        wait_for(f"http://{HOST}:{PORTS['bare']}/json", bare, "bare", logs)
        wait_for(f"http://{HOST}:{PORTS['wechat']}/sns/jscode2session", wechat, "wechat", logs)
        if identity:
            wait_for(f"{identity}/fake/sms/messages", identity_proc, "identity", logs)
        for kind, proc in servers.items():
            wait_for(f"http://{HOST}:{PORTS[kind]}/healthz", proc, f"enrolment-{kind}", logs)
        gateways = {}
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        for kind in ("pg", "sqlite"):
            directory = tmp / f"nginx-{kind}"
            conf = render_gateway(directory, PORTS[f"gw-{kind}"], PORTS[kind])
            gateways[kind] = procs.start(
                f"gateway-{kind}",
                [nginx, "-p", f"{directory}/", "-c", str(conf), "-e", str(directory / "error.log")],
                base_env,
            )
            wait_for(f"http://{HOST}:{PORTS[f'gw-{kind}']}/healthz", gateways[kind], f"gateway-{kind}", logs)

        masters = {kind: serve_pid(proc) for kind, proc in servers.items()}
        campaigns = {kind: campaign_for(f"http://{HOST}:{PORTS[kind]}") for kind in servers}
        bare_url = f"http://{HOST}:{PORTS['bare']}"
        print(f"load: {os.getloadavg()[0]:.2f} (1 min) before the first run", flush=True)

        # 1. Throughput with wrk, each of ours next to its baseline.
        print(f"\nwrk runs, {seconds:.0f} s each:", flush=True)
        r = {}
        r["bare json"] = load(wrk, "bare GET /json", f"{bare_url}/json", seconds)
        with profiler.around("healthz", [masters["pg"]], seconds):
            r["healthz"] = load(
                wrk, "ours GET /healthz (:8301)", f"http://{HOST}:{PORTS['pg']}/healthz", seconds
            )
        r["bare incr"] = load(wrk, "bare GET /incr", f"{bare_url}/incr", seconds)
        for kind in ("pg", "sqlite"):
            code = campaigns[kind]["code"]
            with profiler.around(f"scan-{kind}", [masters[kind]], seconds):
                r[f"scan {kind}"] = load(
                    wrk, f"ours GET /api/v1/join/{{code}}, {kind}, direct",
                    f"http://{HOST}:{PORTS[kind]}/api/v1/join/{code}", seconds,
                )  # fmt: skip
        r["scan pg gw"] = load(
            wrk, "ours GET /api/v1/join/{code}, pg, through the gateway",
            f"http://{HOST}:{PORTS['gw-pg']}/api/v1/join/{campaigns['pg']['code']}", seconds,
        )  # fmt: skip
        r["bare incr 2"] = load(wrk, "bare GET /incr (again, for drift)", f"{bare_url}/incr", seconds)

        # 2. Joins, our client from bench_enrolment against ours and the bare join.
        print(f"\njoins, {args.clients} clients, {joins_n} each:", flush=True)
        j = {}
        bare_bodies = [("bare", join_body(campaigns["pg"]["code"])) for _ in range(joins_n)]
        j["bare"] = joins("bare POST /join", f"{bare_url}/join", bare_bodies, args.clients, args.max_seconds)
        for kind in ("pg", "sqlite"):
            gateway = f"http://{HOST}:{PORTS[f'gw-{kind}']}"
            login_phase, tokens = wechat_logins(gateway, joins_n, args.clients, args.max_seconds)
            print("  " + login_phase.report(200), flush=True)
            prepared = prepare_joins(
                gateway, tokens, campaigns[kind]["code"], identity, args.clients, args.max_seconds
            )
            with profiler.around(f"join-{kind}", [masters[kind]], args.max_seconds):
                j[kind] = joins(
                    f"ours POST /api/v1/join, {kind}, through the gateway", f"{gateway}/api/v1/join",
                    prepared, args.clients, args.max_seconds,
                )  # fmt: skip
        print(f"load: {os.getloadavg()[0]:.2f} (1 min) at the end", flush=True)

        # 3. The verdicts.
        bare_join_rate, bare_join_p99 = join_figures(j["bare"])
        pg_rate, pg_p99 = join_figures(j["pg"])
        sqlite_rate, sqlite_p99 = join_figures(j["sqlite"])
        rows = [
            ("/healthz vs bare JSON", r["healthz"].rps, r["bare json"].rps, TARGETS["healthz"], None),
            ("scan page, PostgreSQL, direct vs bare INCR", r["scan pg"].rps, r["bare incr"].rps,
             TARGETS["scan"], None),
            ("scan page, SQLite, direct vs bare INCR", r["scan sqlite"].rps, r["bare incr"].rps,
             TARGETS["scan"], None),
            ("scan page, PostgreSQL, through the gateway vs bare INCR", r["scan pg gw"].rps,
             r["bare incr"].rps, None, None),
            (f"joins, PostgreSQL, gateway vs bare join ({args.clients} clients)", pg_rate, bare_join_rate,
             TARGETS["join"], pg_p99),
            (f"joins, SQLite, gateway vs bare join ({args.clients} clients)", sqlite_rate, bare_join_rate,
             None, sqlite_p99),
        ]  # fmt: skip
        note = " (under py-spy: overhead included)" if args.profile else ""
        print(f"\nresults{note}:")
        print(f"bare join: {bare_join_rate:.1f}/s, p99 {bare_join_p99:.1f} ms")
        for name, ours, base, target, p99 in rows:
            line = f"{name}: {ours:,.1f} vs {base:,.1f} = {ratio(ours, base):.2f}×"
            if target is not None:
                line += f" (target ≥ {target}×: {verdict(ratio(ours, base) >= target)})"
            if p99 is not None:
                met = verdict(p99 < P99_TARGET_MS)
                line += f"; p99 {p99:.1f} ms (target < {P99_TARGET_MS:.0f} ms: {met})"
            print(line)
    finally:
        procs.stop_all()
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            for name in databases.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
