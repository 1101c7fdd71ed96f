"""Benefit-week redemptions at the till, through the gateway on PostgreSQL, against a bare Redis SET NX
and INSERT, in ONE run.

    .venv/bin/python tests/load/bench_merchants.py [--redemptions 4000] [--clients 32] [--rounds 3]
        [--slices 4] [--rate 300] [--paced-seconds 20] [--stores 24] [--tills-per-store 4]
        [--profile DIR [--profile-wall]] [--keep]

Not a test (pytest collects test_*.py only). It starts everything it measures on loopback ports of
its own and stops it at the end; it touches nothing that is running:

* merchants on :8371 (``unionhub db upgrade merchants``, then ``unionhub serve merchants``: gunicorn
  2 workers × 4 threads, access log on) on a fresh PostgreSQL database ``unionhub_bench_<tag>`` on
  127.0.0.1:55432, Redis db 13, its own UNIONHUB_HOME in a temporary directory;
* a gateway of our own on :8380: nginx from deploy/nginx/gateway.conf.tmpl (routes from
  services/registry.py) with merchants routed to :8371;
* in this process on :8390, what merchants asks of enrolment, played by the script: the JWKS whose
  key signs the tokens we mint (services.enrolment.tokens.Issuer), the card keys of a card issuer
  the script owns (services.enrolment.card_token.CardIssuer) at ``/.well-known/card-keys.json``,
  where merchants' CardKeys fetches them (``UNIONHUB_ENROLMENT_URL`` + card_codes.KEYS_PATH), the
  branch look-up (root > b-1), and ``POST /api/v1/staff``, which answers a new staff id as enrolment
  does when merchants asks it for a till login;
* the bare app (tests/load/bare_app.py) on :8370 on the same gunicorn settings, its own database:
  ``POST /redeem``, one Redis SET NX of the body's nonce and one INSERT.

Setup, untimed, through the gateway with an admin token (units ["root"]): a merchant of b-1 (the
union subsidises half of each discount), ``--stores`` stores, a 满减 offer (满50减5, 满100减12,
满200减30) valid from an hour ago to tomorrow in a benefit week that covers today, one use per member
a day, and a money budget large enough for every redemption; ``--tills-per-store`` till logins per
store, made through ``POST /api/v1/merchants/{id}/staff`` (which asks the stand-in above), each
serving its one store. The members, one per redemption, are rows inserted straight into merchants'
``members`` projection table (what its event worker would write for a member.joined event: the event
path is measured by tests/load/bench_bus.py, not here). Before each of our runs every member of that
run gets a fresh card code (600 s, the longest a code may live), and every till a token.

Each redemption is ``POST /api/v1/redemptions`` with its own Idempotency-Key, a member of its own and
that member's fresh code, a bill of ¥50–300 (so a step of the offer always applies), at the stores in
turn, by one of that store's tills in turn (so no till comes near its rate limit of
``redeem_limit_per_minute``). The bare endpoint gets the same number of requests, each with a
nonce of its own, **direct** (no gateway, as tests/load/bench_request_path.py compares its joins: the
ratio charges nginx to ours). One after the other on the same machine:

1. ``--rounds`` rounds. In each, ``--redemptions`` requests a side (ours by members of that round's
   own, through the gateway) are cut into ``--slices`` slices, and the two sides' slices are sent
   interleaved, A B B A A B B A…, the side that goes first swapped every round. A slice is a burst
   sent as fast as ``--clients`` threads (keep-alive sessions, all connected before a barrier
   releases them) can send it; a side's throughput is its requests over the walls of its own
   slices. The machine's speed drifts by a fifth from one minute to the next (docs/benchmarks.md):
   with one burst a side, a round's ratio depended on which side met the faster minute. The
   verdict is on the median of the rounds' ratios;
2. a paced, open-loop client at ``--rate`` requests/s for ``--paced-seconds`` (latency counts from
   each request's scheduled time): ours through the gateway, then the bare.

For each burst it reads from /proc the CPU time every part used (our gunicorn, nginx, the PostgreSQL
backends of that database, Redis, the client) per request. Afterwards it checks from the databases:
redemptions = answered 201, every answer's id a row of that member with the discount of that bill,
one redemption and one counted use per member, one ``redeemed`` event per redemption in the outbox,
the offer's budget never negative and spent by exactly the discounts granted, 0 5xx; and the bare
table's rows = its 201s. ``--profile DIR`` samples our gunicorn workers with py-spy during our first
slice.

Every loop is bounded by a count and a deadline; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import psycopg
import redis
import requests
from bench_enrolment import Phase, percentile, session_from
from harness import (
    BILL_FEN,
    HOST,
    POSTGRES_ADMIN,
    STEPS,
    CpuUse,
    Processes,
    Profiler,
    add_members,
    bearer,
    bench_world,
    clean_env,
    create_merchant,
    expected_discount,
    first_in_round,
    load_average,
    median_verdict,
    pg_url,
    ratio,
    redis_server,
    run_cli,
    run_paced,
    serve_in_thread,
    serve_pid,
    serving,
    start_bare,
    start_gateway,
    start_service,
    verdict,
    wait_for,
)

from services.enrolment.card_token import MAX_TTL, CardIssuer

PORTS = {"bare": 8370, "merchants": 8371, "gateway": 8380, "outside": 8390}
REDIS_URL = "redis://127.0.0.1:6379/13"  # a db of our own: the running system and the tests use others
REDIS_PATTERNS = ("merchants:*", "unionhub:card_token:used:*", "bare:nonce:*")
TREE = {"root": ["root"], "b-1": ["root", "b-1"]}
TARGET_RATIO, P99_TARGET_MS = 0.4, 100.0
REDEEMED = "unionhub.redemption.redeemed.v1"


# --- what merchants asks of enrolment -------------------------------------------------------------


def outside_app(issuer, card_issuer):
    """Enrolment as merchants sees it: token keys, card keys, a branch's path, new till logins."""
    from flask import Flask, abort, request

    app = Flask("bench-outside")
    app.add_url_rule("/.well-known/jwks.json", "jwks", issuer.jwks)
    app.add_url_rule("/.well-known/card-keys.json", "card_keys", card_issuer.jwks)

    @app.get("/api/v1/branches/<branch_id>")
    def branch(branch_id):
        path = TREE.get(branch_id)
        return {"id": branch_id, "path": path} if path else abort(404)

    @app.post("/api/v1/staff")
    def staff():
        if request.get_json().get("roles") != ["till"]:
            abort(422)
        return {"id": str(uuid.uuid4())}, 201

    return app


# --- setup ----------------------------------------------------------------------------------------


class Requests:
    """Each redemption's headers and body, made before a run so the run only sends them."""

    def __init__(self, issuer, card_issuer, store_ids: list[str], tills: dict, rng: random.Random):
        self.issuer, self.card_issuer = issuer, card_issuer
        self.store_ids, self.tills, self.rng = store_ids, tills, rng

    def ours(self, member_ids: list[str]) -> list[tuple[dict, bytes]]:
        now = int(time.time())
        till_tokens = {
            staff_id: bearer(self.issuer, f"staff:{staff_id}", ["till"])
            for staff_ids in self.tills.values()
            for staff_id in staff_ids
        }
        made = []
        for i, member_id in enumerate(member_ids):
            store_id = self.store_ids[i % len(self.store_ids)]
            tills = self.tills[store_id]
            staff_id = tills[(i // len(self.store_ids)) % len(tills)]
            # As long as a code may live: minted before the run, each must outlast it.
            code, _ = self.card_issuer.issue(member_id, now=now, ttl=MAX_TTL)
            body = {"card_token": code, "store_id": store_id, "amount_fen": self.rng.randint(*BILL_FEN)}
            headers = {
                "Authorization": till_tokens[staff_id],
                "Idempotency-Key": uuid.uuid4().hex,
                "Content-Type": "application/json",
            }
            made.append((headers, json.dumps(body).encode()))
        return made

    def bare(self, count: int) -> list[tuple[dict, bytes]]:
        return [
            (
                {"Idempotency-Key": uuid.uuid4().hex, "Content-Type": "application/json"},
                json.dumps(
                    {
                        "nonce": uuid.uuid4().hex,
                        "store_id": self.store_ids[i % len(self.store_ids)],
                        "amount_fen": self.rng.randint(*BILL_FEN),
                    }
                ).encode(),
            )
            for i in range(count)
        ]


# --- load -----------------------------------------------------------------------------------------

Answer = tuple[int, int, bytes]  # (index of the request, status, body)


def burst(
    name: str, url: str, warm_url: str, made: list[tuple[dict, bytes]], clients: int, max_seconds: float
) -> tuple[Phase, list[Answer]]:
    """One POST per entry of ``made`` by ``clients`` threads, as fast as they go; every thread
    connects (keep-alive) before a barrier lets them all start."""
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
                if i >= len(made):
                    break
                state["next"] = i + 1
            headers, body = made[i]
            begun = time.perf_counter()
            try:
                response = session.post(url, data=body, headers=headers, timeout=60)
                status, content = response.status_code, response.content
            except requests.RequestException as error:
                status, content = 0, str(error).encode()
            phase.record(status, time.perf_counter() - begun)
            mine.append((i, status, content))
        session.close()
        with lock:
            answers.extend(mine)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _: client(), range(clients)))
    phase.wall = time.perf_counter() - state["started"]
    return phase, answers


def interleaved(first: str, slices: int) -> list[tuple[str, int]]:
    """The order of a round's slices, (side, slice number): A B B A A B B A…, A the side that goes
    first. Each side so meets the machine early and late alike, and a drift of its speed through the
    round, which one burst a side left whole to the side that ran then, weighs on both."""
    second = "ours" if first == "bare" else "bare"
    order = []
    for k in range(slices):
        pair = (first, second) if k % 2 == 0 else (second, first)
        order += [(side, k) for side in pair]
    return order


class Side:
    """One side of a round: its requests sent slice by slice, and the slices' figures added up (the
    wall of its own bursts alone, the CPU of its own parts alone)."""

    def __init__(self, name: str, url: str, warm_url: str, made: list, meters: dict, sampling=None):
        self.name, self.url, self.warm_url, self.made, self.meters = name, url, warm_url, made, meters
        self.phase, self.answers, self.cpu = Phase(name), [], CpuUse(meters)
        self.cpu.used = {}
        self.sampling = sampling  # around the first slice alone: py-spy attaches once

    def send(self, part: int, slices: int, clients: int, max_seconds: float) -> None:
        size = -(-len(self.made) // slices)
        start = part * size
        sampling, self.sampling = self.sampling or nullcontext(), None
        with CpuUse(self.meters) as cpu, sampling:
            phase, answers = burst(
                self.name, self.url, self.warm_url, self.made[start : start + size], clients, max_seconds
            )
        for name, used in cpu.used.items():
            self.cpu.used[name] = self.cpu.used.get(name, 0.0) + used
        self.phase.wall += phase.wall
        self.phase.latencies += phase.latencies
        for status, n in phase.statuses.items():
            self.phase.statuses[status] = self.phase.statuses.get(status, 0) + n
        self.answers += [(start + i, status, body) for i, status, body in answers]

    def report(self) -> None:
        print("  " + self.phase.report(201), flush=True)
        print("    " + self.cpu.line(len(self.made)), flush=True)


def paced(name: str, url: str, made: list[tuple[dict, bytes]], rate: float, seconds: float):
    """harness.run_paced over ``made``; also the answers, for the checks."""
    answers: list[Answer] = []

    def send(session: requests.Session, i: int) -> requests.Response:
        headers, body = made[i]
        response = session.post(url, data=body, headers=headers, timeout=10)
        answers.append((i, response.status_code, response.content))
        return response

    # Enough threads that a slow answer delays no request behind it: 300/s at 200 ms is 60 in flight.
    result = run_paced(name, [], rate, seconds, threads=64, send=send)
    print("  " + result.line(), flush=True)
    return result, answers


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


def check_ours(dsn: str, offer_id: str, budget_fen: int, runs: list[tuple[list, list[Answer], list]]) -> dict:
    """``runs``: (the requests sent, their answers, the member of each request) for each of our runs."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT id, member_id, amount_fen, discount_fen, subsidy_fen FROM redemptions"
            " WHERE offer_id = %s",
            (offer_id,),
        ).fetchall()
        remaining, total = conn.execute(
            "SELECT budget_remaining, budget_total FROM offers WHERE id = %s", (offer_id,)
        ).fetchone()
        uses = conn.execute(
            "SELECT count(*), coalesce(max(uses), 0) FROM offer_usage WHERE offer_id = %s", (offer_id,)
        ).fetchone()
        events = conn.execute("SELECT count(*) FROM outbox WHERE type = %s", (REDEEMED,)).fetchone()[0]
    by_id = {r[0]: r for r in rows}
    created = wrong = 0
    for made, answers, member_ids in runs:
        for i, status, body in answers:
            if status != 201:
                continue
            created += 1
            answer, sent = json.loads(body), json.loads(made[i][1])
            row = by_id.get(answer["id"])
            if (
                row is None
                or row[1] != member_ids[i]
                or row[2] != sent["amount_fen"]
                or row[3] != expected_discount(sent["amount_fen"])
                or row[3] != answer["discount_fen"]
                or row[4] != row[3] * 50 // 100
            ):
                wrong += 1
    spent = sum(r[3] for r in rows)
    return {
        "redemptions": len(rows),
        "answered 201": created,
        "answers unlike their row": wrong,
        "members redeeming twice": len(rows) - len({r[1] for r in rows}),
        "counted uses": uses[0],
        "most uses of one member": uses[1],
        "redeemed events": events,
        "budget_remaining": remaining,
        "budget spent": total - remaining,
        "discounts granted": spent,
        "budget as configured": total == budget_fen,
    }


def check_bare(dsn: str, answers: list[Answer]) -> dict:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT count(*) FROM bare_redemptions").fetchone()[0]
    return {"rows": rows, "answered 201": sum(1 for _, status, _ in answers if status == 201)}


# --- the run --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redemptions", type=int, default=4000, help="per burst (≤ 30,000)")
    parser.add_argument(
        "--clients", type=int, default=32, help="burst client threads, a keep-alive session each"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of both sides' slices (≤ 9), judged by their median"
    )
    parser.add_argument(
        "--slices", type=int, default=4, help="slices a side's burst is cut into, interleaved (≤ 20)"
    )
    parser.add_argument("--rate", type=float, default=300.0, help="the paced client's redemptions/s")
    parser.add_argument("--paced-seconds", type=float, default=20.0, help="per paced run (at most 60)")
    parser.add_argument("--stores", type=int, default=24, help="stores of the merchant (≤ 100)")
    parser.add_argument("--tills-per-store", type=int, default=4, help="till logins per store (≤ 10)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="per burst (codes live 600 s)")
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
    args.redemptions = max(1, min(args.redemptions, 30_000))
    args.rounds = max(1, min(args.rounds, 9))
    args.slices = max(1, min(args.slices, 20, args.redemptions))
    args.clients = max(1, min(args.clients, 256))
    args.paced_seconds = max(1.0, min(args.paced_seconds, 60.0))
    args.stores = max(1, min(args.stores, 100))
    args.tills_per_store = max(1, min(args.tills_per_store, 10))
    args.max_seconds = max(10.0, min(args.max_seconds, 500.0))

    tag = uuid.uuid4().hex[:8]
    databases = {"merchants": f"unionhub_bench_{tag}", "bare": f"unionhub_bench_{tag}_bare"}
    world = bench_world(
        f"merchants-{tag}", args.postgres, list(databases.values()), keep=args.keep,
        redis_url=REDIS_URL, redis_patterns=REDIS_PATTERNS,
    )  # fmt: skip
    with world as (tmp, procs), redis.Redis.from_url(REDIS_URL) as client:
        run(args, tmp, databases, procs, client)


def run(args, tmp: Path, databases: dict, procs: Processes, client: redis.Redis) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from services.enrolment.secrets import SigningKey
    from services.enrolment.tokens import Issuer

    rng = random.Random(args.seed)
    # Tokens outlive the run: minted before it starts, used up to the end of the paced run.
    issuer = Issuer([SigningKey("bench-key", Ed25519PrivateKey.generate())], "unionhub-bench", 3600)
    card_issuer = CardIssuer([Ed25519PrivateKey.generate()])
    profiler = Profiler(args.profile, wall=args.profile_wall)
    base_env = clean_env(REDIS_URL)
    merchants_dsn = pg_url(args.postgres, databases["merchants"], "postgresql")
    bare_dsn = pg_url(args.postgres, databases["bare"], "postgresql")
    paced_count = int(args.rate * args.paced_seconds)
    burst_count = args.rounds * args.redemptions
    budget_fen = (burst_count + paced_count) * max(off for _, off in STEPS) * 2

    with serve_in_thread(outside_app(issuer, card_issuer), PORTS["outside"], "bench-outside") as outside:
        bare = start_bare(
            procs, PORTS["bare"], {**base_env, "BARE_DATABASE_URL": bare_dsn, "BARE_REDIS_URL": REDIS_URL}
        )
        env = {
            **base_env,
            "DATABASE_URL": pg_url(args.postgres, databases["merchants"]),
            "UNIONHUB_HOME": str(tmp / "home"),
            "UNIONHUB_JWKS_URL": f"{outside}/.well-known/jwks.json",
            "UNIONHUB_JWT_ISSUER": issuer.issuer,
            "UNIONHUB_ENROLMENT_URL": outside,
            "UNIONHUB_KAFKA_BOOTSTRAP": f"{HOST}:9",  # no relay runs here; nothing should reach Kafka
        }
        run_cli(env, "db", "upgrade", "merchants")
        server = start_service(procs, "merchants", PORTS["merchants"], env)
        wait_for(f"http://{HOST}:{PORTS['bare']}/json", bare, "bare", procs.logs)
        wait_for(f"http://{HOST}:{PORTS['merchants']}/healthz", server, "merchants", procs.logs)
        gateway = f"http://{HOST}:{PORTS['gateway']}"
        nginx = start_gateway(
            procs, "gateway", tmp / "nginx", PORTS["gateway"], {"merchants": PORTS["merchants"]}, base_env
        )

        admin = bearer(issuer, "staff:bench-admin", ["admin"], units=["root"])
        began = time.perf_counter()
        offer_id, store_ids, tills = create_merchant(
            gateway, admin, budget_fen, args.stores, args.tills_per_store, rng
        )
        member_ids = [str(uuid.uuid4()) for _ in range(burst_count + paced_count)]
        add_members(merchants_dsn, member_ids, card_numbers=True)
        paced_members = member_ids[burst_count:]
        make = Requests(issuer, card_issuer, store_ids, tills, rng)
        print(
            f"setup ({time.perf_counter() - began:.1f} s): a merchant, {len(store_ids)} stores, a 满减 "
            f"offer with a budget of ¥{budget_fen // 100:,}, {sum(map(len, tills.values()))} tills through "
            "the API; "
            f"{len(member_ids)} members inserted straight into merchants' members projection (the event "
            "path is measured by bench_bus.py); card codes and till tokens minted untimed before each run",
            flush=True,
        )
        print(f"load average before the runs: {load_average()}", flush=True)

        redis_pids = redis_server(client)
        meters = {
            "bare": serving(bare.pid, args.postgres, databases["bare"], redis_pids=redis_pids),
            "ours": serving(
                server.pid, args.postgres, databases["merchants"], gateway=nginx.pid, redis_pids=redis_pids
            ),
        }
        bare_url, ours_url = f"http://{HOST}:{PORTS['bare']}/redeem", f"{gateway}/api/v1/redemptions"
        bare_warm = f"http://{HOST}:{PORTS['bare']}/json"

        rounds = []  # (ours: requests, phase, answers, members; bare: phase, answers)
        for number in range(1, args.rounds + 1):
            members = member_ids[(number - 1) * args.redemptions : number * args.redemptions]
            ours_made, bare_made = make.ours(members), make.bare(args.redemptions)
            # The profile of round 1 only: py-spy's overhead should not weigh on every round.
            sampling = (
                profiler.around("redemptions", [serve_pid(server)], args.max_seconds) if number == 1 else None
            )
            first = first_in_round(number)
            print(
                f"\nround {number} of {args.rounds}, {first} first: {args.redemptions} redemptions a side "
                f"in {args.slices} slices, interleaved, {args.clients} clients, keep-alive:",
                flush=True,
            )
            sides = {
                "ours": Side("ours POST /api/v1/redemptions, through the gateway", ours_url,
                             f"{gateway}/healthz", ours_made, meters["ours"], sampling),
                "bare": Side("bare POST /redeem, direct", bare_url, bare_warm, bare_made, meters["bare"]),
            }  # fmt: skip
            for side, part in interleaved(first, args.slices):
                sides[side].send(part, args.slices, args.clients, args.max_seconds)
            for side in sides.values():
                side.report()
            ours, bare = sides["ours"], sides["bare"]
            rounds.append((ours_made, ours.phase, ours.answers, members, bare.phase, bare.answers))

        print(f"\npaced at {args.rate:.0f} redemptions/s, {args.paced_seconds:.0f} s each:", flush=True)
        ours_paced_made = make.ours(paced_members)
        ours_paced, ours_paced_answers = paced(
            "ours POST /api/v1/redemptions, through the gateway",
            ours_url, ours_paced_made, args.rate, args.paced_seconds,
        )  # fmt: skip
        bare_paced, bare_paced_answers = paced(
            "bare POST /redeem, direct", bare_url, make.bare(paced_count), args.rate, args.paced_seconds
        )
        print(f"load average at the end: {load_average()}", flush=True)
        failures = Counter(
            f"{status} {body[:160].decode(errors='replace')}"
            for _, status, body in [a for r in rounds for a in r[2]] + ours_paced_answers
            if status != 201
        )
        for text, n in failures.most_common(3):
            print(f"  {n} × {text}")

    ours_check = check_ours(
        merchants_dsn,
        offer_id,
        budget_fen,
        [
            *[(made, answers, members) for made, _, answers, members, _, _ in rounds],
            (ours_paced_made, ours_paced_answers, paced_members),
        ],
    )
    bare_answers = [a for *_, bare_answers in rounds for a in bare_answers] + bare_paced_answers
    bare_check = check_bare(bare_dsn, bare_answers)
    paced_5xx = sum(1 for _, status, _ in ours_paced_answers + bare_paced_answers if status >= 500)
    report(args, rounds, (ours_paced, bare_paced, paced_5xx), ours_check, bare_check)


def report(args, rounds, paced_runs, ours_check, bare_check) -> None:
    ours_paced, bare_paced, paced_5xx = paced_runs
    note = " (under py-spy in round 1: overhead included)" if args.profile else ""
    print(f"\nresults{note}:")
    shares, five = [], paced_5xx
    for number, (_, ours_phase, _, _, bare_phase, _) in enumerate(rounds, 1):
        print(f"round {number}:")
        for label, x in (
            ("bare POST /redeem, direct", figures(bare_phase)),
            ("ours, through the gateway", figures(ours_phase)),
        ):
            five += x["5xx"]
            print(
                f"  {label}: wall {x['wall']:.2f} s, {x['rate']:,.1f} redemptions/s, p50 {x['p50']:.1f} ms, "
                f"p99 {x['p99']:.1f} ms, max {x['max']:.1f} ms, 5xx {x['5xx']}, no answer {x['failed']}"
            )
        ours_rate, bare_rate = figures(ours_phase)["rate"], figures(bare_phase)["rate"]
        shares.append(ratio(ours_rate, bare_rate))
        print(f"  throughput ratio: {ours_rate:,.1f} vs {bare_rate:,.1f} = {shares[-1]:.2f}×")
    print("ours, from the database:", ", ".join(f"{k} {v}" for k, v in ours_check.items()))
    print("bare, from the database:", ", ".join(f"{k} {v}" for k, v in bare_check.items()))
    print("burst: " + median_verdict(shares, TARGET_RATIO))
    p99 = ours_paced.p99_ms
    print(
        f"at {args.rate:.0f}/s through the gateway: sent {ours_paced.achieved:,.0f}/s, p50 "
        f"{ours_paced.p50_ms:.1f} ms, p99 {p99:.1f} ms (target < {P99_TARGET_MS:.0f} ms: "
        f"{verdict(p99 < P99_TARGET_MS)}); bare at the same rate: p99 {bare_paced.p99_ms:.1f} ms"
    )
    ok = (
        ours_check["redemptions"] == ours_check["answered 201"] == ours_check["counted uses"]
        == ours_check["redeemed events"]
        and ours_check["answers unlike their row"] == 0
        and ours_check["members redeeming twice"] == 0
        and ours_check["most uses of one member"] <= 1
        and ours_check["budget_remaining"] >= 0
        and ours_check["budget spent"] == ours_check["discounts granted"]
        and bare_check["rows"] == bare_check["answered 201"]
    )  # fmt: skip
    errors = ours_paced.errors + bare_paced.errors
    print(
        f"redemptions = 201 answers, as the database holds them, budget never negative and spent by "
        f"exactly the discounts: {verdict(ok)}; 5xx: {five} (target 0: {verdict(five == 0)}); "
        f"non-2xx or no answer in the paced runs: {errors}"
    )


if __name__ == "__main__":
    main()
