"""Course booking under a burst, through the gateway on PostgreSQL, against a bare conditional UPDATE,
in ONE run.

    .venv/bin/python tests/load/bench_courses.py [--attempts 10000] [--capacity 500] [--clients 64]
        [--rounds 3] [--workers 2 --threads 4] [--postgres DSN] [--redis URL]
        [--profile DIR [--profile-wall]] [--keep]

Not a test (pytest collects test_*.py only). It starts everything it measures on loopback ports of
its own and stops it at the end; it touches nothing that is running:

* courses on :8321 (``unionhub db upgrade courses``, then ``unionhub serve courses``: gunicorn 2
  workers × 4 threads unless ``--workers``/``--threads`` say otherwise, access log on) on a fresh
  PostgreSQL database ``unionhub_bench_<tag>`` on 127.0.0.1:55432 (``--postgres``), Redis db 13
  (``--redis``), its own UNIONHUB_HOME in a temporary directory;
* a gateway of our own on :8330: nginx from deploy/nginx/gateway.conf.tmpl (routes from
  services/registry.py) with courses routed to :8321;
* in this process on :8340, what courses asks of the outside: a JWKS whose key signs the tokens we
  mint (services.enrolment.tokens.Issuer, Ed25519), and a stand-in for enrolment's
  ``GET /api/v1/branches/<id>`` (root > b-1);
* the bare app (tests/load/bare_app.py) on :8320 on the same gunicorn settings (the same
  ``--workers`` and ``--threads``), its own database.

Setup, untimed: an admin token (units ["root"]) creates a term of b-1 whose booking is open,
through the gateway. ``--attempts`` members are made known to courses by rows inserted straight into
its ``members`` projection table (what its event worker would write for a member.joined event: the
event path is measured by tests/load/bench_bus.py, not here), and a token is minted for each.

Then ``--rounds`` rounds. In each, the admin creates a course of ``--capacity`` seats in the term and
publishes it (untimed), and then, one after the other on the same machine, the same burst:
``--attempts`` POSTs, one per member, each with its own Idempotency-Key, sent as fast as
``--clients`` threads (keep-alive sessions, all connected before a barrier releases them) can send
them:

1. at the bare ``POST /book`` (one conditional single-row UPDATE; course N in round N), **direct**
   (no gateway), as tests/load/bench_request_path.py compares its joins;
2. at ``POST /api/v1/courses/{id}/bookings`` **through the gateway**.

Which of the two goes first alternates from round to round. The machine's speed drifts by a fifth
from one minute to the next (docs/benchmarks.md), so the verdict is on the median of the rounds'
ratios, each from two bursts run back to back.

It prints, for each round, wall time, throughput, p50 and p99 for both and their ratio, and checks
afterwards from the databases: confirmed seats exactly ``--capacity`` (0 oversold), every member
booked once, the waitlist numbered 1..N without gap or repeat, what each member was told
(confirmed, or their place) equal to the database's row, and 0 5xx. It prints the CPU time each
part used per booking (from /proc: the gunicorn processes, nginx, the PostgreSQL backends of the
database, this client), so a change's cost is read without the noise of the machine's other jobs in
the throughput. ``--profile DIR`` samples our gunicorn workers with py-spy during our first burst.

Every loop is bounded by a count and a deadline; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import requests
from bench_enrolment import Phase, percentile, session_from
from harness import (
    HOST,
    POSTGRES_ADMIN,
    CpuUse,
    Processes,
    Profiler,
    add_members,
    bearer,
    bench_world,
    clean_env,
    create_course,
    create_term,
    first_in_round,
    load_average,
    median_verdict,
    pg_url,
    ratio,
    run_cli,
    serve_in_thread,
    serve_pid,
    serving,
    start_bare,
    start_gateway,
    start_service,
    verdict,
    wait_for,
)

PORTS = {"bare": 8320, "courses": 8321, "gateway": 8330, "outside": 8340}
REDIS_URL = "redis://127.0.0.1:6379/13"  # a db of our own: the running system and the tests use others
TREE = {"root": ["root"], "b-1": ["root", "b-1"]}
TARGET_RATIO = 0.5


# --- what courses asks of the outside -------------------------------------------------------------


def outside_app(issuer):
    """The JWKS of our token issuer and enrolment's branch look-up, as one small Flask app."""
    from flask import Flask, abort

    app = Flask("bench-outside")
    app.get("/.well-known/jwks.json")(issuer.jwks)

    @app.get("/api/v1/branches/<branch_id>")
    def branch(branch_id):
        path = TREE.get(branch_id)
        return {"id": branch_id, "path": path} if path else abort(404)

    return app


# --- the burst ------------------------------------------------------------------------------------


def burst(
    name: str, url: str, warm_url: str, headers: list[dict], clients: int, max_seconds: float
) -> tuple[Phase, list[tuple[int, int, bytes]]]:
    """One POST per entry of ``headers`` by ``clients`` threads, as fast as they go; every thread
    connects (keep-alive) before a barrier lets them all start. Answers as (index, status, body),
    their bodies read after the burst, not during it."""
    phase, answers, lock = Phase(name), [], threading.Lock()
    state = {"next": 0, "started": 0.0}
    start = threading.Barrier(clients, action=lambda: state.update(started=time.perf_counter()))
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        session = session_from()
        session.get(warm_url, timeout=10)
        start.wait(timeout=60)
        mine = []
        while time.monotonic() < deadline:
            with lock:
                i = state["next"]
                if i >= len(headers):
                    break
                state["next"] = i + 1
            begun = time.perf_counter()
            try:
                response = session.post(url, json={}, headers=headers[i], timeout=60)
                status, body = response.status_code, response.content
            except requests.RequestException as error:
                status, body = 0, str(error).encode()
            phase.record(status, time.perf_counter() - begun)
            mine.append((i, status, body))
        session.close()
        with lock:
            answers.extend(mine)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _: client(), range(clients)))
    phase.wall = time.perf_counter() - state["started"]
    print("  " + phase.report(201), flush=True)
    return phase, answers


def figures(phase: Phase) -> dict:
    ms = [x * 1000 for x in phase.latencies]
    return {
        "wall": phase.wall,
        "rate": sum(n for s, n in phase.statuses.items() if 200 <= s < 300) / phase.wall,
        "p50": percentile(ms, 50),
        "p99": percentile(ms, 99),
        "max": max(ms, default=float("nan")),
        "5xx": sum(n for s, n in phase.statuses.items() if s >= 500),
        "failed": sum(n for s, n in phase.statuses.items() if s == 0),
    }


# --- checks afterwards ----------------------------------------------------------------------------


def check_courses(dsn: str, course_id: str, capacity: int, answers, member_ids: list[str]) -> dict:
    with psycopg.connect(dsn) as conn:
        seats, seq = conn.execute(
            "SELECT confirmed, waitlist_seq FROM courses WHERE id = %s", (course_id,)
        ).fetchone()
        rows = conn.execute(
            "SELECT id, member_id, status, position FROM bookings WHERE course_id = %s", (course_id,)
        ).fetchall()
    by_id = {r[0]: r for r in rows}
    confirmed = sum(1 for r in rows if r[2] == "confirmed")
    numbers = sorted(r[3] for r in rows if r[2] == "waitlisted")
    expected = list(range(1, len(numbers) + 1))
    repeats = len(numbers) - len(set(numbers))
    gaps = len(set(expected) - set(numbers))
    # What each member was told is what the database holds: confirmed, or their waitlist number
    # (nothing was cancelled, so the place they were told is their number).
    told_wrong, told = 0, 0
    for i, status, body in answers:
        if status not in (200, 201):
            continue
        answer = json.loads(body)
        row = by_id.get(answer["id"])
        told += 1
        if (
            row is None
            or row[1] != member_ids[i]
            or row[2] != answer["status"]
            or (row[2] == "waitlisted" and row[3] != answer.get("position"))
        ):
            told_wrong += 1
    return {
        "course.confirmed": seats,
        "confirmed rows": confirmed,
        "oversold": max(0, confirmed - capacity, seats - capacity),
        "waitlisted": len(numbers),
        "waitlist_seq": seq,
        "waitlist 1..N": numbers == expected,
        "gaps": gaps,
        "repeats": repeats,
        "bookings": len(rows),
        "members booked once": len({r[1] for r in rows}) == len(rows) == len(member_ids),
        "answers checked": told,
        "answers unlike the database": told_wrong,
    }


def check_bare(dsn: str, number: int, capacity: int, answers) -> dict:
    with psycopg.connect(dsn) as conn:
        seats = conn.execute("SELECT confirmed FROM bare_courses WHERE id = %s", (number,)).fetchone()[0]
    told = sum(1 for _, status, body in answers if status == 201 and json.loads(body)["confirmed"])
    return {"confirmed": seats, "told confirmed": told, "oversold": max(0, seats - capacity, told - capacity)}


# --- the run --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--attempts", type=int, default=10_000, help="bookings, one per member (≤ 50,000)")
    parser.add_argument("--capacity", type=int, default=500, help="seats of the course (≤ 10,000)")
    parser.add_argument("--clients", type=int, default=64, help="client threads, a keep-alive session each")
    parser.add_argument(
        "--rounds", type=int, default=3, help="pairs of bursts, bare and ours (≤ 9), judged by their median"
    )
    parser.add_argument("--max-seconds", type=float, default=600.0, help="per burst")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, ours and the bare app's")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker, ours and the bare app's")
    parser.add_argument(
        "--postgres", default=POSTGRES_ADMIN,
        help="the maintenance database of the local PostgreSQL (deploy/local/infra.sh)",
    )  # fmt: skip
    parser.add_argument("--redis", default=REDIS_URL, help="the Redis database our service may use")
    parser.add_argument("--profile", type=Path, help="sample our workers with py-spy into this directory")
    parser.add_argument(
        "--profile-wall", action="store_true", help="sample waiting threads too, not only the GIL holder"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and logs")
    args = parser.parse_args()
    args.attempts = max(1, min(args.attempts, 50_000))
    args.capacity = max(1, min(args.capacity, 10_000))
    args.rounds = max(1, min(args.rounds, 9))

    tag = uuid.uuid4().hex[:8]
    databases = {"courses": f"unionhub_bench_{tag}", "bare": f"unionhub_bench_{tag}_bare"}
    world = bench_world(f"courses-{tag}", args.postgres, list(databases.values()), keep=args.keep)
    with world as (tmp, procs):
        run(args, tmp, databases, procs)


def run(args, tmp: Path, databases: dict, procs: Processes) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from services.enrolment.secrets import SigningKey
    from services.enrolment.tokens import Issuer

    # Tokens outlive the run: minted before it starts, used up to --max-seconds later.
    issuer = Issuer([SigningKey("bench-key", Ed25519PrivateKey.generate())], "unionhub-bench", 3600)
    profiler = Profiler(args.profile, wall=args.profile_wall)
    base_env = clean_env(args.redis)
    courses_dsn = pg_url(args.postgres, databases["courses"], "postgresql")
    bare_dsn = pg_url(args.postgres, databases["bare"], "postgresql")

    with serve_in_thread(outside_app(issuer), PORTS["outside"], "bench-outside") as outside:
        bare = start_bare(
            procs,
            PORTS["bare"],
            {
                **base_env,
                "BARE_DATABASE_URL": bare_dsn,
                "BARE_COURSE_CAPACITY": str(args.capacity),
                "BARE_COURSES": str(args.rounds),
            },
            workers=args.workers,
            threads=args.threads,
        )
        env = {
            **base_env,
            "DATABASE_URL": pg_url(args.postgres, databases["courses"]),
            "UNIONHUB_HOME": str(tmp / "home"),
            "UNIONHUB_JWKS_URL": f"{outside}/.well-known/jwks.json",
            "UNIONHUB_JWT_ISSUER": issuer.issuer,
            "UNIONHUB_ENROLMENT_URL": outside,
            "UNIONHUB_CODE_SECRET": base64.b64encode(os.urandom(32)).decode(),
            "UNIONHUB_KAFKA_BOOTSTRAP": f"{HOST}:9",  # no relay runs here; nothing should reach Kafka
        }
        run_cli(env, "db", "upgrade", "courses")
        server = start_service(
            procs, "courses", PORTS["courses"], env, workers=args.workers, threads=args.threads
        )
        wait_for(f"http://{HOST}:{PORTS['bare']}/json", bare, "bare", procs.logs)
        wait_for(f"http://{HOST}:{PORTS['courses']}/healthz", server, "courses", procs.logs)
        gateway = f"http://{HOST}:{PORTS['gateway']}"
        nginx = start_gateway(
            procs, "gateway", tmp / "nginx", PORTS["gateway"], {"courses": PORTS["courses"]}, base_env
        )

        admin = bearer(issuer, "staff:bench-admin", ["admin"], units=["root"])
        member_ids = [str(uuid.uuid4()) for _ in range(args.attempts)]
        add_members(courses_dsn, member_ids)
        tokens = [bearer(issuer, f"wx:{m}", ["member"], member_id=m) for m in member_ids]
        print(
            f"setup: a term through the API; {args.attempts} members inserted straight into courses' "
            f"members projection (the event path is measured by bench_bus.py); {args.attempts} member "
            f"tokens minted, untimed; each round a course of {args.capacity} seats through the API",
            flush=True,
        )
        print(f"load average before the bursts: {load_average()}", flush=True)
        rounds = []

        def measured(name, url, warm_url, headers, parts, sampling):
            """One burst, with the CPU each part used a booking (and py-spy, when sampling)."""
            with CpuUse(parts) as cpu, sampling:
                answers = burst(name, url, warm_url, headers, args.clients, args.max_seconds)
            print("    " + cpu.line(args.attempts), flush=True)
            return answers

        term_id = create_term(gateway, admin, "b-1", datetime.now(UTC) - timedelta(hours=1))
        for number in range(1, args.rounds + 1):
            course_id = create_course(gateway, admin, term_id, args.capacity)
            ours_headers = [{"Authorization": t, "Idempotency-Key": uuid.uuid4().hex} for t in tokens]
            bare_headers = [{"Idempotency-Key": uuid.uuid4().hex} for _ in member_ids]

            def bare_burst(number=number, bare_headers=bare_headers):
                return measured(
                    "bare POST /book, direct",
                    f"http://{HOST}:{PORTS['bare']}/book?course={number}",
                    f"http://{HOST}:{PORTS['bare']}/json",
                    bare_headers,
                    serving(bare.pid, args.postgres, databases["bare"]),
                    nullcontext(),
                )

            def ours_burst(number=number, course_id=course_id, ours_headers=ours_headers):
                return measured(
                    "ours POST /api/v1/courses/{id}/bookings, through the gateway",
                    f"{gateway}/api/v1/courses/{course_id}/bookings",
                    f"{gateway}/healthz",
                    ours_headers,
                    serving(server.pid, args.postgres, databases["courses"], gateway=nginx.pid),
                    profiler.around("bookings", [serve_pid(server)], args.max_seconds)
                    if number == 1
                    else nullcontext(),
                )

            first = first_in_round(number)
            print(f"\nround {number} of {args.rounds}, {first} first: {args.attempts} bookings, "
                  f"{args.clients} clients, keep-alive:", flush=True)  # fmt: skip
            if first == "bare":
                bare_run, ours_run = bare_burst(), ours_burst()
            else:
                ours_run, bare_run = ours_burst(), bare_burst()
            failures = Counter(
                body[:200].decode(errors="replace")
                for _, status, body in ours_run[1]
                if status not in (200, 201)
            )
            for text, n in failures.most_common(3):
                print(f"  {n} × {text}")
            rounds.append((course_id, number, ours_run, bare_run))
        print(f"load average after the bursts: {load_average()}", flush=True)

    print(f"\nresults, gunicorn {args.workers} workers × {args.threads} threads on both sides"
          f"{' (under py-spy in round 1: overhead included)' if args.profile else ''}:")  # fmt: skip
    shares, held = [], []
    for course_id, number, (ours_phase, ours_answers), (bare_phase, bare_answers) in rounds:
        ours_check = check_courses(courses_dsn, course_id, args.capacity, ours_answers, member_ids)
        bare_check = check_bare(bare_dsn, number, args.capacity, bare_answers)
        ours, bare_f = figures(ours_phase), figures(bare_phase)
        print(f"round {number}:")
        for label, f in (("bare POST /book, direct", bare_f), ("ours, through the gateway", ours)):
            print(
                f"  {label}: wall {f['wall']:.2f} s, {f['rate']:,.1f} bookings/s, p50 {f['p50']:.1f} ms, "
                f"p99 {f['p99']:.1f} ms, max {f['max']:.1f} ms, 5xx {f['5xx']}, no answer {f['failed']}"
            )
        print("  ours, from the database:", ", ".join(f"{k} {v}" for k, v in ours_check.items()))
        print("  bare, from the database:", ", ".join(f"{k} {v}" for k, v in bare_check.items()))
        share = ratio(ours["rate"], bare_f["rate"])
        shares.append(share)
        print(f"  throughput ratio: {ours['rate']:,.1f} vs {bare_f['rate']:,.1f} = {share:.2f}×")
        held.append(
            {
                "oversold 0": ours_check["oversold"] == 0 and bare_check["oversold"] == 0,
                "5xx 0": ours["5xx"] == 0,
                f"confirmed exactly {args.capacity}": ours_check["confirmed rows"] == args.capacity,
                "waitlist without gap or repeat": ours_check["waitlist 1..N"],
                "every answer as the database": ours_check["answers unlike the database"] == 0,
            }
        )
    print(median_verdict(shares, TARGET_RATIO))
    print("; ".join(f"{name} in every round: {verdict(all(h[name] for h in held))}" for name in held[0]))


if __name__ == "__main__":
    main()
