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

It prints each figure with its baseline and the ratio, and for the bare join and the join on
PostgreSQL the CPU each process used a join (ours: gunicorn, nginx, PostgreSQL, Redis, the identity
fake, and this script as the client). ``--profile DIR`` samples our gunicorn
workers with py-spy (``--gil``: where the Python CPU goes; with ``--profile-wall`` where the
threads wait too) during every phase of ours and prints the top frames; figures from such a run
carry the profiler's overhead and are marked so.

Every loop is bounded by a count and a deadline; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
from bench_enrolment import Phase, percentile, session_from
from harness import (
    HOST,
    POSTGRES_ADMIN,
    REPO,
    CpuUse,
    Profiler,
    admin_login,
    bench_world,
    campaign_for,
    clean_env,
    cli,
    ensure_wrk,
    has_db_upgrade,
    join_body,
    load,
    pg_url,
    prepare_joins,
    ratio,
    redis_server,
    serve_pid,
    serving,
    start_bare,
    start_gateway,
    start_service,
    tree,
    verdict,
    wait_for,
    wechat_logins,
)

try:
    from services.registry import FAKES
except ImportError:  # a tree from before the registry listed its fakes
    FAKES = {"wechat": 8199}

PORTS = {"bare": 8300, "pg": 8301, "sqlite": 8302, "gw-pg": 8310, "gw-sqlite": 8311}
PORTS.update(wechat=8399, identity=8398)
REDIS_URL = "redis://127.0.0.1:6379/12"  # a db of our own: the running system and the tests use others
ADMIN_PASSWORD = "bench-admin-password"

# Targets of the issue, as (ratio at least, p99 below ms).
TARGETS = {"healthz": 0.8, "scan": 0.5, "join": 0.5}
P99_TARGET_MS = 200.0


# --- joins ----------------------------------------------------------------------------------------


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


# --- the run ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per wrk run (at most 20)")
    parser.add_argument("--joins", type=int, default=600, help="per join run")
    parser.add_argument("--clients", type=int, default=8, help="join client threads")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="per login or join phase")
    parser.add_argument(
        "--postgres", default=POSTGRES_ADMIN,
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
    databases = {"pg": f"unionhub_bench_{tag}", "bare": f"unionhub_bench_{tag}_bare"}
    profiler = Profiler(args.profile, wall=args.profile_wall)
    with bench_world(tag, args.postgres, list(databases.values()), keep=args.keep) as (tmp, procs):
        run(args, wrk, seconds, joins_n, tmp, databases, procs, profiler)


def run(args, wrk, seconds, joins_n, tmp, databases, procs, profiler) -> None:
    logs = procs.logs
    base_env = clean_env(REDIS_URL)

    # The bare app.
    bare_env = {**base_env, "BARE_DATABASE_URL": pg_url(args.postgres, databases["bare"], "postgresql"),
                "BARE_REDIS_URL": REDIS_URL}  # fmt: skip
    bare = start_bare(procs, PORTS["bare"], bare_env)

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
            pg_url(args.postgres, databases["pg"])
            if kind == "pg"
            else f"sqlite:///{tmp / kind / 'enrolment.db'}"
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
        servers[kind] = start_service(procs, "enrolment", PORTS[kind], env, f"enrolment-{kind}")
    wait_for(f"http://{HOST}:{PORTS['bare']}/json", bare, "bare", logs)
    wait_for(f"http://{HOST}:{PORTS['wechat']}/sns/jscode2session", wechat, "wechat", logs)
    if identity:
        wait_for(f"{identity}/fake/sms/messages", identity_proc, "identity", logs)
    for kind, proc in servers.items():
        wait_for(f"http://{HOST}:{PORTS[kind]}/healthz", proc, f"enrolment-{kind}", logs)
    gateways = {
        kind: start_gateway(
            procs,
            f"gateway-{kind}",
            tmp / f"nginx-{kind}",
            PORTS[f"gw-{kind}"],
            {"enrolment": PORTS[kind]},
            base_env,
        )
        for kind in ("pg", "sqlite")
    }

    masters = {kind: serve_pid(proc) for kind, proc in servers.items()}
    direct = {kind: f"http://{HOST}:{PORTS[kind]}" for kind in servers}
    campaigns = {kind: campaign_for(url, admin_login(url, ADMIN_PASSWORD)) for kind, url in direct.items()}
    bare_url = f"http://{HOST}:{PORTS['bare']}"
    print(f"load: {os.getloadavg()[0]:.2f} (1 min) before the first run", flush=True)

    # 1. Throughput with wrk, each of ours next to its baseline.
    print(f"\nwrk runs, {seconds:.0f} s each:", flush=True)
    r = {}
    r["bare json"] = load(wrk, "bare GET /json", f"{bare_url}/json", seconds)
    with profiler.around("healthz", [masters["pg"]], seconds):
        r["healthz"] = load(wrk, "ours GET /healthz (:8301)", f"http://{HOST}:{PORTS['pg']}/healthz", seconds)
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

    # 2. Joins, our client from bench_enrolment against ours and the bare join, with the CPU each
    # process used (the identity fake stands in for a provider that runs elsewhere in production).
    redis_pids = redis_server(redis.Redis.from_url(REDIS_URL))
    meters = {
        "bare": serving(bare.pid, args.postgres, databases["bare"], redis_pids=redis_pids),
        "pg": serving(
            masters["pg"], args.postgres, databases["pg"], gateway=gateways["pg"].pid, redis_pids=redis_pids
        ),
    }
    if identity:
        meters["pg"]["identity fake"] = lambda: tree(identity_proc.pid)
    print(f"\njoins, {args.clients} clients, {joins_n} each:", flush=True)
    j = {}
    bare_bodies = [("bare", join_body(campaigns["pg"]["code"])) for _ in range(joins_n)]
    with CpuUse(meters["bare"]) as cpu:
        j["bare"] = joins("bare POST /join", f"{bare_url}/join", bare_bodies, args.clients, args.max_seconds)
    print("    " + cpu.line(joins_n), flush=True)
    for kind in ("pg", "sqlite"):
        gateway = f"http://{HOST}:{PORTS[f'gw-{kind}']}"
        login_phase, tokens = wechat_logins(gateway, joins_n, args.clients, args.max_seconds)
        print("  " + login_phase.report(200), flush=True)
        prepared = prepare_joins(
            gateway, tokens, campaigns[kind]["code"], identity, args.clients, args.max_seconds
        )
        with (
            CpuUse(meters.get(kind, {})) as cpu,
            profiler.around(f"join-{kind}", [masters[kind]], args.max_seconds),
        ):
            j[kind] = joins(
                f"ours POST /api/v1/join, {kind}, through the gateway", f"{gateway}/api/v1/join",
                prepared, args.clients, args.max_seconds,
            )  # fmt: skip
        if kind in meters:
            print("    " + cpu.line(len(prepared)), flush=True)
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


if __name__ == "__main__":
    main()
