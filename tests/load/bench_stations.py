"""The station finder with 10,000 stations over Guizhou, through the gateway, against a bare GEOSEARCH,
in ONE run.

    .venv/bin/python tests/load/bench_stations.py [--stations 10000] [--seconds 10] [--rate 300]
        [--paced-seconds 20] [--city-share 0.7] [--profile DIR [--profile-wall]] [--keep]

Not a test (pytest collects test_*.py only). It starts everything it measures on loopback ports of
its own and stops it at the end; it touches nothing that is running:

* stations on :8351 (``unionhub db upgrade stations``, then ``unionhub serve stations``: gunicorn 2
  workers × 4 threads, access log on) on a fresh PostgreSQL database ``unionhub_bench_<tag>`` on
  127.0.0.1:55432, Redis db 13, its own UNIONHUB_HOME in a temporary directory;
* a gateway of our own on :8360: nginx from deploy/nginx/gateway.conf.tmpl (routes from
  services/registry.py) with stations routed to :8351;
* the bare app (tests/load/bare_app.py) on :8350 on the same gunicorn settings: ``GET /geo`` runs the
  finder's GEOSEARCH on a GEO key it fills at start with the same stations' points.

Setup, untimed: ``--stations`` rows inserted straight into stations' ``stations`` table, then
``unionhub stations-reindex`` builds the finder's Redis projection from them (its GEO set, amenity
sets, cards, and each station's opening hours evaluated once, as registering one through the API
does). Stations lie in Guizhou's bounding box (lat 24.6–29.2, lng 103.6–109.6): a ``--city-share``
of them scattered around the nine prefecture seats (weighted by population, σ ≈ 11 km), the rest
uniform over the box; amenities drawn per station, opening hours one of ``24/7``,
``Mo-Fr 08:00-20:00; PH off``, ``Mo-Su 07:00-22:00``, ``Mo-Sa 09:00-21:00; Su off``. Queries come
from points drawn the same way (couriers ask where they ride), each with radius 5 km, one
amenity, open_now=true, limit 20; the bare endpoint gets the same points and radius. A sample of
answers is printed first, so what a request finds is known.

Then, one after the other on the same machine:

1. wrk (2 threads, 32 connections, ``--seconds`` each; a Lua script goes round the queries): the
   bare ``GET /geo`` **direct** (no gateway, as tests/load/bench_request_path.py compares), ours
   ``GET /api/v1/stations`` **through the gateway**, ours direct (how much the gateway costs), the
   bare again (drift).
2. A paced client at ``--rate`` requests/s for ``--paced-seconds`` (open loop: latency counts from
   each request's scheduled time): ours through the gateway, then the bare direct.

Each wrk run also reads the CPU time its server side used from /proc (gunicorn's master and
workers, nginx through the gateway, and the Redis server, which whatever else uses that Redis shares)
and prints it per request: on a machine whose other jobs move either side's throughput, the ratio of
CPU per request moves much less.

``--profile DIR`` samples our gunicorn workers with py-spy during ours through the gateway.

Every loop is bounded by a count and a deadline; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import time
import uuid
from pathlib import Path

import redis
import requests
from harness import (
    HOST,
    POSTGRES_ADMIN,
    CpuUse,
    Processes,
    Profiler,
    bench_world,
    clean_env,
    ensure_wrk,
    insert_stations,
    load_average,
    pg_url,
    queries,
    ratio,
    redis_server,
    run_cli,
    run_paced,
    run_python_load,
    run_wrk,
    serve_pid,
    start_bare,
    start_gateway,
    start_service,
    stations,
    tree,
    verdict,
    wait_for,
)

PORTS = {"bare": 8350, "stations": 8351, "gateway": 8360}
REDIS_URL = "redis://127.0.0.1:6379/13"  # a db of our own: the running system and the tests use others
TARGET_RATIO, P99_TARGET_MS = 0.6, 50.0


# --- what the queries find ---------------------------------------------------------------------------


def wrk_script(path: Path, paths: list[str]) -> Path:
    """A wrk Lua script going round ``paths``, each wrk thread from its own starting point."""
    listed = ",\n".join(json.dumps(p) for p in paths)
    path.write_text(
        f"local paths = {{\n{listed}\n}}\n"
        "local threads = 0\n"
        "function setup(thread) thread:set('first', threads * 7919); threads = threads + 1 end\n"
        "function init(args) i = first end\n"
        "function request() i = i + 1; return wrk.format('GET', paths[i % #paths + 1]) end\n"
    )
    return path


def sample(base: str, paths: list[str], n: int) -> dict:
    """What ``n`` of the queries find, untimed: so the figures say what a request did."""
    found, empty, session = [], 0, requests.Session()
    for p in paths[:n]:
        response = session.get(base + p, timeout=10)
        response.raise_for_status()
        found.append(len(response.json()))
        empty += not found[-1]
    session.close()
    return {"mean": sum(found) / len(found), "max": max(found), "empty": empty / len(found)}


# --- the run --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stations", type=int, default=10_000, help="stations to load (≤ 50,000)")
    parser.add_argument("--queries", type=int, default=5000, help="distinct query points")
    parser.add_argument("--seconds", type=float, default=10.0, help="per wrk run (at most 30)")
    parser.add_argument("--rate", type=float, default=300.0, help="the paced client's requests/s")
    parser.add_argument("--paced-seconds", type=float, default=20.0, help="per paced run (at most 60)")
    parser.add_argument(
        "--city-share", type=float, default=0.7,
        help="of stations and query points around the prefecture seats; 0: uniform over the box",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--postgres", default=POSTGRES_ADMIN,
        help="the maintenance database of the local PostgreSQL (deploy/local/infra.sh)",
    )  # fmt: skip
    parser.add_argument("--profile", type=Path, help="sample our workers with py-spy into this directory")
    parser.add_argument(
        "--profile-wall", action="store_true", help="sample waiting threads too, not only the GIL holder"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and logs")
    args = parser.parse_args()
    args.stations = max(1, min(args.stations, 50_000))
    args.queries = max(100, min(args.queries, 20_000))
    args.seconds = max(1.0, min(args.seconds, 30.0))
    args.paced_seconds = max(1.0, min(args.paced_seconds, 60.0))
    args.city_share = max(0.0, min(args.city_share, 1.0))

    tag = uuid.uuid4().hex[:8]
    database = f"unionhub_bench_{tag}"
    world = bench_world(
        f"stations-{tag}", args.postgres, [database], keep=args.keep,
        redis_url=REDIS_URL, redis_patterns=("stations:*", "bare:*"),
    )  # fmt: skip
    with world as (tmp, procs):
        run(args, tmp, database, procs)


def run(args, tmp: Path, database: str, procs: Processes) -> None:
    profiler = Profiler(args.profile, wall=args.profile_wall)
    wrk = ensure_wrk()
    if not wrk:
        print("wrk is not available; using the bounded Python load generator", flush=True)
    rng = random.Random(args.seed)
    base_env = clean_env(REDIS_URL)
    env = {
        **base_env,
        "DATABASE_URL": pg_url(args.postgres, database),
        "UNIONHUB_HOME": str(tmp / "home"),
        "UNIONHUB_CODE_SECRET": base64.b64encode(os.urandom(32)).decode(),
        # The finder is public: nothing here should ask enrolment or Kafka anything.
        "UNIONHUB_JWKS_URL": f"http://{HOST}:9/.well-known/jwks.json",
        "UNIONHUB_ENROLMENT_URL": f"http://{HOST}:9",
        "UNIONHUB_KAFKA_BOOTSTRAP": f"{HOST}:9",
    }
    run_cli(env, "db", "upgrade", "stations")
    rows = stations(rng, args.stations, args.city_share)
    began = time.perf_counter()
    insert_stations(pg_url(args.postgres, database, "postgresql"), rows)
    inserted = time.perf_counter() - began
    print(run_cli(env, "stations-reindex", timeout=900).strip(), flush=True)
    indexed = time.perf_counter() - began - inserted
    points = tmp / "points.json"
    points.write_text(json.dumps([[r[4], r[3], r[0]] for r in rows]))

    bare = start_bare(
        procs, PORTS["bare"], {**base_env, "BARE_REDIS_URL": REDIS_URL, "BARE_GEO_POINTS": str(points)}
    )
    server = start_service(procs, "stations", PORTS["stations"], env)
    wait_for(f"http://{HOST}:{PORTS['bare']}/json", bare, "bare", procs.logs)
    wait_for(f"http://{HOST}:{PORTS['stations']}/healthz", server, "stations", procs.logs)
    gateway = f"http://{HOST}:{PORTS['gateway']}"
    nginx = start_gateway(
        procs, "gateway", tmp / "nginx", PORTS["gateway"], {"stations": PORTS["stations"]}, base_env
    )
    bare_base, direct = f"http://{HOST}:{PORTS['bare']}", f"http://{HOST}:{PORTS['stations']}"

    ours_paths, bare_paths = queries(rng, args.queries, args.city_share)
    found, nearby = sample(gateway, ours_paths, 200), sample(bare_base, bare_paths, 200)
    print(
        f"setup: {args.stations} stations inserted in {inserted:.1f} s and indexed by "
        f"`unionhub stations-reindex` in {indexed:.1f} s; {args.city_share:.0%} of stations and query "
        f"points around the prefecture seats, the rest uniform over the box; {len(ours_paths)} query points",
        flush=True,
    )
    print(
        f"what 200 queries find: the finder {found['mean']:.1f} stations on average (max {found['max']}, "
        f"{found['empty']:.0%} none); the bare GEOSEARCH, unfiltered, {nearby['mean']:.1f} "
        f"(max {nearby['max']}, {nearby['empty']:.0%} none)",
        flush=True,
    )
    print(f"load average before the first run: {load_average()}", flush=True)

    paths = {"ours": ours_paths, "bare": bare_paths}
    scripts = {kind: wrk_script(tmp / f"{kind}.lua", listed) for kind, listed in paths.items()}

    with redis.Redis.from_url(REDIS_URL) as client:
        redis_pids = redis_server(client)
    ours_parts = {"gunicorn": lambda: tree(server.pid), "Redis": lambda: redis_pids}
    meters = {
        "bare": {"gunicorn": lambda: tree(bare.pid), "Redis": lambda: redis_pids},
        "gateway": {**ours_parts, "nginx": lambda: tree(nginx.pid)},
        "direct": ours_parts,
    }
    cpu: dict[str, float] = {}  # µs of server-side CPU per request, by run

    def saturate(key: str, name: str, base: str, kind: str, meter: str):
        with CpuUse(meters[meter]) as used:
            if wrk:
                rate = run_wrk(wrk, name, base, args.seconds, scripts[kind])
            else:
                rate = run_python_load(name, [base + p for p in paths[kind]], args.seconds)
        print("  " + rate.line(), flush=True)
        print("    " + used.line(rate.requests), flush=True)
        served = sum(v for part, v in used.used.items() if part != "client")
        cpu[key] = 1e6 * served / max(1, rate.requests)
        return rate

    print(f"\nsaturation, {args.seconds:.0f} s each:", flush=True)
    r = {"bare": saturate("bare", "bare GET /geo, direct", bare_base, "bare", "bare")}
    with profiler.around("finder", [serve_pid(server)], args.seconds):
        r["gateway"] = saturate(
            "gateway", "ours GET /api/v1/stations, through the gateway", gateway, "ours", "gateway"
        )
    r["direct"] = saturate("direct", "ours GET /api/v1/stations, direct", direct, "ours", "direct")
    r["bare again"] = saturate(
        "bare again", "bare GET /geo, direct (again, for drift)", bare_base, "bare", "bare"
    )

    print(f"\npaced at {args.rate:.0f} requests/s, {args.paced_seconds:.0f} s each:", flush=True)
    paced = {}
    for key, name, base, kind in (
        ("gateway", "ours GET /api/v1/stations, through the gateway", gateway, "ours"),
        ("bare", "bare GET /geo, direct", bare_base, "bare"),
    ):
        paced[key] = run_paced(name, [base + p for p in paths[kind]], args.rate, args.paced_seconds)
        print("  " + paced[key].line(), flush=True)
    print(f"load average at the end: {load_average()}", flush=True)
    # Others' fault tests may restart or flush the shared Redis: figures measured on an empty finder
    # say nothing, so the same sample must find the same at the end.
    if sample(gateway, ours_paths, 200) != found or sample(bare_base, bare_paths, 200) != nearby:
        print("VOID: the stations in Redis changed during the runs (restarted or flushed by another job?)")

    note = " (under py-spy: overhead included)" if args.profile else ""
    share = ratio(r["gateway"].rps, r["bare"].rps)
    p99 = paced["gateway"].p99_ms
    errors = sum(x.errors for x in (*r.values(), *paced.values()))
    print(f"\nresults{note}:")
    met = verdict(share >= TARGET_RATIO)
    print(
        f"finder through the gateway vs bare GEOSEARCH: {r['gateway'].rps:,.0f} vs "
        f"{r['bare'].rps:,.0f} req/s = {share:.2f}× (target ≥ {TARGET_RATIO}×: {met}); "
        f"against the second bare run {ratio(r['gateway'].rps, r['bare again'].rps):.2f}×"
    )
    print(
        f"finder direct vs bare: {ratio(r['direct'].rps, r['bare'].rps):.2f}×; "
        f"through the gateway vs direct: {ratio(r['gateway'].rps, r['direct'].rps):.2f}×"
    )
    print(
        f"by CPU per request (server side): bare {cpu['bare']:,.0f} / {cpu['bare again']:,.0f} µs, ours "
        f"through the gateway {cpu['gateway']:,.0f} µs, direct {cpu['direct']:,.0f} µs; bare ÷ ours "
        f"through the gateway {ratio(cpu['bare'], cpu['gateway']):.2f}× / "
        f"{ratio(cpu['bare again'], cpu['gateway']):.2f}×"
    )
    print(
        f"finder at {args.rate:.0f}/s through the gateway: p50 {paced['gateway'].p50_ms:.1f} ms, "
        f"p99 {p99:.1f} ms (target < {P99_TARGET_MS:.0f} ms: {verdict(p99 < P99_TARGET_MS)}); "
        f"bare at the same rate: p99 {paced['bare'].p99_ms:.1f} ms"
    )
    print(f"errors (non-2xx and socket errors) in every run: {errors}")


if __name__ == "__main__":
    main()
