"""The mixed load: every service at once under locust, each endpoint beside its bare baseline from the
same run.

    .venv/bin/python tests/load/bench_mixed.py [--users 300] [--spawn-rate 50] [--seconds 60]
        [--seed 1] [--profile DIR [--profile-wall]] [--keep]

It takes /tmp/unionhub-heavy.lock itself (as ``flock`` would; run under ``flock`` on that file, it sees
the lock its parent holds and does not wait for it). Not a test (pytest collects test_*.py only). It
starts everything it measures on loopback ports of its own and stops it at the end; it touches
nothing that is running:

* enrolment :8401, courses :8402, merchants :8403, stations :8404 (``unionhub db upgrade``, then
  ``unionhub serve``: gunicorn 2 workers × 4 threads, access log on), each on a fresh PostgreSQL
  database on 127.0.0.1:55432, all on Redis db 13, one UNIONHUB_HOME in a temporary directory, no
  Kafka (nothing is relayed: the event path is measured by bench_bus.py); enrolment with keys this
  script made, so it can mint tokens and card codes that every service accepts; the other services
  ask the real enrolment for its JWKS, card keys, branches and till logins;
* the WeChat fake :8498 and the identity fake :8497 (二要素 and SMS), and a gateway of our own on
  :8400 (nginx from deploy/nginx/gateway.conf.tmpl) routing the four and the SMS fake's outbox;
* the bare app (tests/load/bare_app.py) :8410 on the same gunicorn settings, its own database.

Set-up, untimed: an admin (the bootstrap login) makes a branch and its campaign; ``--members``
workers join through it for real (their tokens browse the member pages); a merchant of that branch
with ``--stores`` stores of ``--tills-per-store`` tills and a 满减 offer whose budget funds about
``--funded`` redemptions; ``--stations`` stations inserted and indexed by
``unionhub stations-reindex``; the members who book and redeem inserted straight into the courses'
and merchants' member projections (what a member.joined event leaves there), with a token each and
a fresh card code (600 s) each; join identities for the drive. Last, a term that opens for booking
``--burst-at`` seconds after locust starts, with ``--courses`` courses of ``--capacity`` seats.

Then locust (tests/load/locustfile.py), headless, ``--users`` users spawned at ``--spawn-rate``, for
``--seconds`` (at most 80) and up to 10 s for tasks under way to finish: the member pages, the
booking burst at the term's opening, the tills' rush, couriers at the finder and the enrolment drive,
each part twice at the same weight (ours through the gateway, its bare twin direct). Afterwards it
prints per endpoint p50, p99, req/s (over the span the endpoint was asked), failures and 5xx beside
the bare twin's, the CPU each part used, and checks from the databases: seats never oversold and
each answer as the database holds it, redemptions = 201 answers with the budget spent by exactly
the discounts granted and never below 0, joins = members of the campaign, 0 5xx. ``--profile DIR``
samples every service's gunicorn workers with py-spy during the run.

Every loop is bounded by a count and a deadline; traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import redis
import requests
from bench_enrolment import percentile, resident_id
from harness import (
    BILL_FEN,
    GUIYANG,
    HERE,
    HOST,
    POSTGRES_ADMIN,
    REPO,
    CpuUse,
    Processes,
    Profiler,
    add_members,
    admin_login,
    backends,
    bearer,
    bench_world,
    campaign_for,
    clean_env,
    cli,
    create_course,
    create_merchant,
    create_term,
    enrol,
    expected_discount,
    insert_stations,
    load_average,
    pg_url,
    queries,
    ratio,
    redis_server,
    run_cli,
    serve_pid,
    start_bare,
    start_gateway,
    start_service,
    stations,
    tree,
    verdict,
    wait_for,
)

from schemas.events.benefits import REDEEMED
from schemas.events.members import JOINED
from services.enrolment.card_token import MAX_TTL, CardIssuer
from services.enrolment.secrets import load as load_secrets
from services.enrolment.secrets import new_key_material
from services.enrolment.settings import EnrolmentSettings
from services.enrolment.tokens import Issuer
from services.registry import ALL as REGISTRY

SERVICES = ("enrolment", "courses", "merchants", "stations")
PORTS = {"gateway": 8400, "enrolment": 8401, "courses": 8402, "merchants": 8403, "stations": 8404}
PORTS.update(bare=8410, identity=8497, wechat=8498)
REDIS_URL = "redis://127.0.0.1:6379/13"  # a db of the benches, which run one at a time under the lock
REDIS_PATTERNS = (
    "enrolment:*",
    "courses:*",
    "merchants:*",
    "stations:*",
    "unionhub:*",
    "bare:*",
    "ratelimit:*",
)
HEAVY_LOCK = Path("/tmp/unionhub-heavy.lock")
ADMIN_PASSWORD = "bench-admin-password"
MAX_SECONDS, STOP_TIMEOUT = 80, 10


# --- the heavy lock -------------------------------------------------------------------------------


def hold_heavy_lock():
    """The machine's heavy-run lock: already ours when a parent ``flock`` holds it on a descriptor we
    inherited, otherwise taken here (waiting for whoever holds it) and held until we exit."""
    for fd in Path("/proc/self/fd").iterdir():
        try:
            if Path(os.readlink(fd)) == HEAVY_LOCK:
                return None
        except OSError:
            continue
    lock = open(HEAVY_LOCK, "a")  # noqa: SIM115 - held until the process exits
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"waiting for {HEAVY_LOCK} (another heavy run holds it)", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


# --- the stack ------------------------------------------------------------------------------------


def environments(args, tmp: Path, databases: dict) -> tuple[dict, dict]:
    """Each service's environment, and the bare app's."""
    base = clean_env(REDIS_URL)
    keys = new_key_material()
    common = {
        **base,
        "UNIONHUB_HOME": str(tmp / "home"),
        "UNIONHUB_JWKS_URL": f"http://{HOST}:{PORTS['enrolment']}/.well-known/jwks.json",
        "UNIONHUB_ENROLMENT_URL": f"http://{HOST}:{PORTS['enrolment']}",
        "UNIONHUB_KAFKA_BOOTSTRAP": f"{HOST}:9",  # no relay runs here; nothing should reach Kafka
        "UNIONHUB_CODE_SECRET": base64.b64encode(os.urandom(32)).decode(),
    }
    identity = f"http://{HOST}:{PORTS['identity']}"
    enrolment = {
        "UNIONHUB_JWT_KEYS": json.dumps(keys["jwt_keys"]),
        "UNIONHUB_PII_KEYS": keys["pii_keys"],
        "UNIONHUB_PII_HASH_KEY": keys["pii_hash_key"],
        "UNIONHUB_CARD_KEYS": keys["card_keys"],
        "UNIONHUB_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "UNIONHUB_ACCESS_TOKEN_TTL": "3600",  # the set-up's member tokens outlive set-up and run
        "UNIONHUB_WECHAT_CODE2SESSION_URL": f"http://{HOST}:{PORTS['wechat']}/sns/jscode2session",
        "UNIONHUB_IDENTITY_VERIFY_URL": f"{identity}/identity/verify",
        "UNIONHUB_SMS_SEND_URL": f"{identity}/sms/send",
        # Every worker of the drive comes from 127.0.0.1 here; at a park they come from many phones.
        "UNIONHUB_LOGIN_LIMIT_PER_MINUTE": "1000000",
    }
    envs = {
        name: {
            **common,
            **(enrolment if name == "enrolment" else {}),
            "DATABASE_URL": pg_url(args.postgres, databases[name]),
        }
        for name in SERVICES
    }
    bare = {
        **base,
        "BARE_DATABASE_URL": pg_url(args.postgres, databases["bare"], "postgresql"),
        "BARE_REDIS_URL": REDIS_URL,
        "BARE_COURSES": str(args.courses),
        "BARE_COURSE_CAPACITY": str(args.capacity),
        "BARE_GEO_POINTS": str(tmp / "points.json"),
    }
    return envs, bare


def start_stack(args, tmp: Path, procs: Processes, databases: dict, envs: dict, bare_env: dict, rng) -> dict:
    """Schemas, the stations and their index, then every process: each started process by name."""
    for name in SERVICES:
        run_cli(envs[name], "db", "upgrade", name)
    rows = stations(rng, args.stations, 0.7)
    insert_stations(pg_url(args.postgres, databases["stations"], "postgresql"), rows)
    run_cli(envs["stations"], "stations-reindex", timeout=900)
    (tmp / "points.json").write_text(json.dumps([[r[4], r[3], r[0]] for r in rows]))

    base = clean_env(REDIS_URL)
    started = {"bare": start_bare(procs, PORTS["bare"], bare_env)}
    for fake in ("wechat", "identity"):
        # One process each: the identity fake keeps the texts it sent in memory.
        argv = cli("serve", fake, "--port", str(PORTS[fake]), "--host", HOST, "--workers", "1")
        started[fake] = procs.start(fake, argv, base)
    for name in SERVICES:
        started[name] = start_service(procs, name, PORTS[name], envs[name])
    wait_for(f"http://{HOST}:{PORTS['bare']}/json", started["bare"], "bare", procs.logs)
    wait_for(f"http://{HOST}:{PORTS['wechat']}/sns/jscode2session", started["wechat"], "wechat", procs.logs)
    wait_for(
        f"http://{HOST}:{PORTS['identity']}/fake/sms/messages", started["identity"], "identity", procs.logs
    )
    for name in SERVICES:
        wait_for(f"http://{HOST}:{PORTS[name]}/healthz", started[name], name, procs.logs)
    upstreams = {name: PORTS[name] for name in SERVICES}
    upstreams["fake_identity"] = PORTS["identity"]  # the SMS outbox the drive reads its codes from
    started["nginx"] = start_gateway(procs, "gateway", tmp / "nginx", PORTS["gateway"], upstreams, base)
    return started


# --- the data locust sends ------------------------------------------------------------------------


def prepare(args, gateway: str, envs: dict, databases: dict, rng) -> tuple[dict, dict]:
    """Everything but the term, made before the run: (the data for the locustfile, what the checks
    need)."""
    settings = EnrolmentSettings.from_env("enrolment", envs["enrolment"])
    secrets = load_secrets(settings)  # the keys enrolment runs with: what we mint, every service accepts
    issuer = Issuer(secrets.signing_keys, settings.jwt_issuer, 3600)
    cards = CardIssuer(secrets.card_keys)
    admin = admin_login(gateway, ADMIN_PASSWORD)
    campaign = campaign_for(gateway, admin)
    branch_id = campaign["branch_id"]
    path = requests.get(
        f"{gateway}/api/v1/branches/{branch_id}", headers={"Authorization": admin}, timeout=10
    )
    branch = (branch_id, tuple(path.json()["path"]))

    began = time.perf_counter()
    members = enrol(gateway, f"http://{HOST}:{PORTS['identity']}", campaign["code"], args.members)
    if not members:
        sys.exit("set-up: no member could join; the member pages need some")
    print(f"  {len(members)} members joined through the campaign in {time.perf_counter() - began:.1f} s")

    bills = [rng.randint(*BILL_FEN) for _ in range(args.stores * args.per_store)]
    budget_fen = sum(expected_discount(amount) for amount in bills[: args.funded])
    offer_id, store_ids, tills = create_merchant(
        gateway, admin, budget_fen, args.stores, args.tills_per_store, rng, branch_id
    )
    redeemers = [str(uuid.uuid4()) for _ in bills]
    add_members(
        pg_url(args.postgres, databases["merchants"], "postgresql"), redeemers, branch, card_numbers=True
    )
    now = int(time.time())
    stores = [
        {
            "store_id": store_id,
            "tills": [bearer(issuer, f"staff:{staff_id}", ["till"]) for staff_id in tills[store_id]],
            # As long as a code may live: minted before the run, each must outlast set-up and run.
            "redemptions": [
                [cards.issue(redeemers[k], now=now, ttl=MAX_TTL)[0], bills[k]]
                for k in range(n * args.per_store, (n + 1) * args.per_store)
            ],
        }
        for n, store_id in enumerate(store_ids)
    ]

    bookers = [str(uuid.uuid4()) for _ in range(args.bookers)]
    add_members(pg_url(args.postgres, databases["courses"], "postgresql"), bookers, branch)
    wanted = [(m, k % args.courses) for k, m in enumerate(bookers)]
    wanted += [(m, (k + 1) % args.courses) for k, m in enumerate(bookers) if rng.random() < 0.25]
    rng.shuffle(wanted)
    finder, finder_bare = queries(rng, 5000, 0.7)
    data = {
        "gateway": gateway,
        "bare": f"http://{HOST}:{PORTS['bare']}",
        "campaign_code": campaign["code"],
        "members": [[auth, member_id] for auth, member_id in members],
        "bookings": [[bearer(issuer, f"wx:{m}", ["member"], member_id=m), k] for m, k in wanted],
        "stores": stores,
        "workers": [[f"13{rng.randrange(10**9):09d}", resident_id()] for _ in range(args.workers)],
        "finder": finder,
        "finder_bare": finder_bare,
        "near": [
            [round(rng.gauss(GUIYANG[0], 0.05), 5), round(rng.gauss(GUIYANG[1], 0.05), 5)] for _ in range(500)
        ],
    }
    facts = {
        "admin": admin,
        "branch": branch,
        "campaign": campaign,
        "offer_id": offer_id,
        "budget_fen": budget_fen,
        "bills": bills,
        "redeemers": redeemers,
        "bookers": bookers,
        "wanted": wanted,
        "members": len(members),
    }
    return data, facts


def open_term(args, gateway: str, facts: dict, data: dict) -> None:
    """The term and its courses, last, so that booking opens ``--burst-at`` s after locust starts."""
    opens_at = time.time() + args.burst_at
    term_id = create_term(gateway, facts["admin"], facts["branch"][0], datetime.fromtimestamp(opens_at, UTC))
    courses = [
        create_course(gateway, facts["admin"], term_id, args.capacity, f"压测课程{n + 1}")
        for n in range(args.courses)
    ]
    data.update(term_id=term_id, courses=courses, opens_at=opens_at)


# --- the run --------------------------------------------------------------------------------------


def run_locust(args, tmp: Path, data: dict) -> tuple[dict, float]:
    """locust to its end: what it wrote, and the CPU seconds it used."""
    data["out"] = str(tmp / "requests.json")
    data_file = tmp / "data.json"
    data_file.write_text(json.dumps(data))
    argv = [
        sys.executable, "-m", "locust", "-f", str(HERE / "locustfile.py"), "--headless",
        "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.seconds}s",
        "--stop-timeout", str(STOP_TIMEOUT), "--csv", str(tmp / "locust"), "--only-summary",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {**os.environ, "UNIONHUB_MIXED_DATA": str(data_file), "PYTHONPATH": str(REPO)}
    with open(tmp / "locust.log", "wb") as log:
        locust = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = threading.Timer(args.seconds + STOP_TIMEOUT + 60, locust.kill)
        deadline.start()
        # wait4, not wait: the child's own CPU time comes with it. Its exit code says whether any
        # request failed; the figures say which.
        _, _, used = os.wait4(locust.pid, 0)
        locust.returncode = 0  # reaped here; Popen must not wait for it again
        deadline.cancel()
    log_text = (tmp / "locust.log").read_text()
    if not Path(data["out"]).exists():
        sys.exit(f"locust wrote no requests; see {tmp / 'locust.log'}:\n{log_text[-3000:]}")
    return json.loads(Path(data["out"]).read_text()), used.ru_utime + used.ru_stime


def figures(records: list[list]) -> dict:
    """Per request name: count, p50, p99, req/s over the span it was asked, failures, 5xx."""
    by_name = defaultdict(list)
    for name, start, ms, status, ok in records:
        by_name[name].append((start, ms, status, ok))
    out = {}
    for name, rows in by_name.items():
        ms = [r[1] for r in rows]
        span = max(r[0] + r[1] / 1000 for r in rows) - min(r[0] for r in rows)
        ok = sum(1 for r in rows if r[3])
        out[name] = {
            "n": len(rows),
            "p50": percentile(ms, 50),
            "p99": percentile(ms, 99),
            "rps": ok / span if span > 0 else float("nan"),
            "span": span,
            "failures": len(rows) - ok,
            "5xx": sum(1 for r in rows if r[2] >= 500),
            "statuses": Counter(r[2] for r in rows),
        }
    return out


def table(endpoints: dict, f: dict) -> list[str]:
    head = (
        f"{'endpoint':<52} {'n':>6} {'p50':>7} {'p99':>8} {'req/s':>7} {'fail':>5} {'5xx':>4} │ "
        f"{'bare p50':>8} {'p99':>7} {'req/s':>7} │ {'req/s ×':>7} {'p50 ×':>6}"
    )
    lines = [head, "─" * len(head)]
    for endpoint in endpoints:
        ours, bare = f.get(endpoint), f.get(f"bare {endpoint}")
        if not ours or not bare:
            lines.append(f"{endpoint:<52} (not asked in this run)")
            continue
        lines.append(
            f"{endpoint:<52} {ours['n']:>6} {ours['p50']:>7.1f} {ours['p99']:>8.1f} {ours['rps']:>7.1f} "
            f"{ours['failures']:>5} {ours['5xx']:>4} │ {bare['p50']:>8.1f} {bare['p99']:>7.1f} "
            f"{bare['rps']:>7.1f} │ {ratio(ours['rps'], bare['rps']):>7.2f} "
            f"{ratio(ours['p50'], bare['p50']):>6.1f}"
        )
    return lines


def served_by(f: dict) -> dict[str, int]:
    """Requests each of our services and the bare app served, by the gateway's routes
    (services/registry.py); the SMS fake's outbox is neither."""
    served = dict.fromkeys((*SERVICES, "bare"), 0)
    for name, x in f.items():
        if name.startswith("bare "):
            served["bare"] += x["n"]
            continue
        path = name.split(" ", 1)[1]
        owner = next((s.name for s in REGISTRY if any(path.startswith(r) for r in s.routes)), None)
        if owner in served:
            served[owner] += x["n"]
    return served


# --- checks afterwards ----------------------------------------------------------------------------


def check_bookings(dsn: str, data: dict, facts: dict, answers: list, capacity: int) -> dict:
    with psycopg.connect(dsn) as conn:
        courses = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT id, confirmed, capacity FROM courses WHERE id = ANY(%s)", (data["courses"],)
            )
        }
        rows = conn.execute(
            "SELECT id, member_id, course_id, status, position FROM bookings WHERE course_id = ANY(%s)",
            (data["courses"],),
        ).fetchall()
    by_id = {r[0]: r for r in rows}
    oversold = waitlist_wrong = 0
    for course_id, (seats, cap) in courses.items():
        confirmed = sum(1 for r in rows if r[2] == course_id and r[3] == "confirmed")
        numbers = sorted(r[4] for r in rows if r[2] == course_id and r[3] == "waitlisted")
        oversold += max(0, confirmed - cap, seats - cap) + (seats != confirmed)
        waitlist_wrong += numbers != list(range(1, len(numbers) + 1))
    wrong = told = 0
    for n, status, body in answers:
        if status != 201:
            continue
        told += 1
        answer, (member_id, course) = json.loads(body), facts["wanted"][n]
        row = by_id.get(answer["id"])
        if (
            row is None
            or row[1] != member_id
            or row[2] != data["courses"][course]
            or row[3] != answer["status"]
            or (row[3] == "waitlisted" and row[4] != answer.get("position"))
        ):
            wrong += 1
    pairs = {(r[1], r[2]) for r in rows}
    return {
        "bookings": len(rows),
        "answered 201": told,
        "confirmed": sum(1 for r in rows if r[3] == "confirmed"),
        "seats": capacity * len(courses),
        "oversold or miscounted": oversold,
        "courses whose waitlist is not 1..N": waitlist_wrong,
        "a member twice on a course": len(rows) - len(pairs),
        "answers unlike the database": wrong,
        "ok": oversold == 0
        and waitlist_wrong == 0
        and wrong == 0
        and len(pairs) == len(rows)
        and told <= len(rows),
    }


def check_bare_bookings(dsn: str) -> dict:
    with psycopg.connect(dsn) as conn:
        over = conn.execute("SELECT count(*) FROM bare_courses WHERE confirmed > capacity").fetchone()[0]
    return {"bare courses oversold": over}


def check_redemptions(dsn: str, data: dict, facts: dict, answers: list) -> dict:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT id, member_id, amount_fen, discount_fen FROM redemptions WHERE offer_id = %s",
            (facts["offer_id"],),
        ).fetchall()
        remaining, total = conn.execute(
            "SELECT budget_remaining, budget_total FROM offers WHERE id = %s", (facts["offer_id"],)
        ).fetchone()
        events = conn.execute("SELECT count(*) FROM outbox WHERE type = %s", (REDEEMED,)).fetchone()[0]
    by_id = {r[0]: r for r in rows}
    per_store = len(data["stores"][0]["redemptions"])
    created = wrong = refused = 0
    for store, n, status, body in answers:
        if status == 409:
            refused += 1
        if status != 201:
            continue
        created += 1
        k = store * per_store + n
        answer, row = json.loads(body), by_id.get(json.loads(body)["id"])
        if (
            row is None
            or row[1] != facts["redeemers"][k]
            or row[2] != facts["bills"][k]
            or row[3] != expected_discount(facts["bills"][k])
            or row[3] != answer["discount_fen"]
        ):
            wrong += 1
    spent = sum(r[3] for r in rows)
    return {
        "redemptions": len(rows),
        "answered 201": created,
        "refused 409": refused,
        "budget": total,
        "budget_remaining": remaining,
        "discounts granted": spent,
        "redeemed events": events,
        "answers unlike their row": wrong,
        "ok": remaining >= 0
        and total - remaining == spent
        and wrong == 0
        and events == len(rows)
        and created <= len(rows)
        and len({r[1] for r in rows}) == len(rows),
    }


def check_joins(dsn: str, facts: dict, answers: list) -> dict:
    with psycopg.connect(dsn) as conn:
        members = conn.execute(
            "SELECT count(*) FROM members WHERE campaign_id = %s", (facts["campaign"]["id"],)
        ).fetchone()[0]
        events = conn.execute("SELECT count(*) FROM outbox WHERE type = %s", (JOINED,)).fetchone()[0]
    joined = sum(1 for _, status, _ in answers if status == 201)
    return {
        "members of the campaign": members,
        "joined in set-up": facts["members"],
        "answered 201 in the run": joined,
        "joined events": events,
        "ok": joined + facts["members"] <= members == events,
    }


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=300, help="locust users, half ours, half the bare twins")
    parser.add_argument("--spawn-rate", type=float, default=50.0, help="users started a second")
    parser.add_argument("--seconds", type=int, default=60, help=f"of load (at most {MAX_SECONDS})")
    parser.add_argument(
        "--burst-at", type=float, default=20.0, help="s after locust starts that booking opens"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--members", type=int, default=100, help="members who join in set-up and browse")
    parser.add_argument("--bookers", type=int, default=2000, help="members of the booking burst")
    parser.add_argument("--courses", type=int, default=8, help="courses in the new term")
    parser.add_argument("--capacity", type=int, default=50, help="seats of each course")
    parser.add_argument("--stores", type=int, default=8)
    parser.add_argument("--tills-per-store", type=int, default=2)
    parser.add_argument("--per-store", type=int, default=400, help="fresh card codes prepared per store")
    parser.add_argument("--funded", type=int, default=1500, help="redemptions the offer's budget pays for")
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=3000, help="join identities for the drive")
    parser.add_argument(
        "--postgres", default=POSTGRES_ADMIN,
        help="the maintenance database of the local PostgreSQL (deploy/local/infra.sh)",
    )  # fmt: skip
    parser.add_argument(
        "--profile", type=Path, help="sample the services' workers with py-spy into this directory"
    )
    parser.add_argument(
        "--profile-wall", action="store_true", help="sample waiting threads too, not only the GIL holder"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and logs")
    args = parser.parse_args()
    args.seconds = max(10, min(args.seconds, MAX_SECONDS))
    args.burst_at = max(0.0, min(args.burst_at, args.seconds - 5.0))
    args.users = max(10, min(args.users, 2000))
    args.members = max(1, min(args.members, 1000))
    args.per_store = max(1, min(args.per_store, 5000))
    args.bookers = max(1, min(args.bookers, 50_000))

    lock = hold_heavy_lock()
    tag = uuid.uuid4().hex[:8]
    databases = {name: f"unionhub_bench_{tag}_{name}" for name in (*SERVICES, "bare")}
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    world = bench_world(
        f"mixed-{tag}", args.postgres, list(databases.values()), keep=args.keep,
        redis_url=REDIS_URL, redis_patterns=REDIS_PATTERNS,
    )  # fmt: skip
    try:
        with world as (tmp, procs), redis.Redis.from_url(REDIS_URL) as client:
            run(args, tmp, databases, procs, client)
    finally:
        if lock:
            lock.close()


def run(args, tmp: Path, databases: dict, procs: Processes, client: redis.Redis) -> None:
    rng = random.Random(args.seed)
    random.seed(args.seed)  # resident_id() draws from the module's generator
    envs, bare_env = environments(args, tmp, databases)
    began = time.perf_counter()
    started = start_stack(args, tmp, procs, databases, envs, bare_env, rng)
    gateway = f"http://{HOST}:{PORTS['gateway']}"
    print(f"stack up in {time.perf_counter() - began:.1f} s; set-up:", flush=True)
    data, facts = prepare(args, gateway, envs, databases, rng)
    print(
        f"  {len(data['bookings'])} bookings by {args.bookers} members for {args.courses} courses of "
        f"{args.capacity} seats; {args.stores} stores × {args.tills_per_store} tills with "
        f"{args.per_store} card codes each, a budget of ¥{facts['budget_fen'] / 100:,.0f} "
        f"(about {args.funded} redemptions); {args.stations} stations; set-up took "
        f"{time.perf_counter() - began:.0f} s",
        flush=True,
    )

    redis_pids = redis_server(client)
    parts = {name: (lambda p=started[name].pid: tree(p)) for name in (*SERVICES, "bare", "nginx")}
    parts["fakes"] = lambda: [started["wechat"].pid, started["identity"].pid]
    parts["PostgreSQL"] = lambda: [p for db in databases.values() for p in backends(args.postgres, db)()]
    parts["Redis"] = lambda: redis_pids
    profiler = Profiler(args.profile, wall=args.profile_wall)
    print(
        f"\nlocust: {args.users} users (half ours, half bare), spawned at {args.spawn_rate:g}/s, "
        f"{args.seconds} s (+ up to {STOP_TIMEOUT} s for tasks under way); booking opens at "
        f"+{args.burst_at:g} s; seed {args.seed}; load average before: {load_average()}",
        flush=True,
    )
    with CpuUse(parts) as cpu, _profiled(profiler, started, args.seconds + STOP_TIMEOUT):
        open_term(args, gateway, facts, data)
        out, cpu_locust = run_locust(args, tmp, data)
    cpu.used["locust"] = cpu_locust
    print(f"load average after: {load_average()}", flush=True)

    f = figures(out["requests"])
    note = " (under py-spy: overhead included)" if args.profile else ""
    print(f"\nper endpoint{note}: ms, and req/s over the span it was asked; bare twin direct, same run:")
    for line in table(out["endpoints"], f):
        print("  " + line)
    sms = f.get("GET /fake/sms/messages")
    if sms:
        print(f"  (the identity fake's outbox, read by the drive: {sms['n']} reads, p50 {sms['p50']:.1f} ms)")
    total = sum(x["n"] for x in f.values())
    ours_n = sum(x["n"] for name, x in f.items() if not name.startswith("bare "))
    used = sum(cpu.used.values())
    print(f"\nCPU seconds during the run ({total} requests, {ours_n} of them ours):")
    print(
        "  "
        + ", ".join(f"{k} {v:.1f}" for k, v in sorted(cpu.used.items(), key=lambda kv: -kv[1]) if v >= 0.05)
    )
    print(f"  all {used:.1f} of {2 * (args.seconds + STOP_TIMEOUT)} s on 2 cores at most")
    served = served_by(f)
    print(
        "  per request it served: "
        + ", ".join(f"{k} {1e6 * cpu.used[k] / n:,.0f} µs ({n})" for k, n in served.items() if n)
    )
    failures = Counter(f"{name} {status}" for name, _, _, status, ok in out["requests"] if not ok)
    for text, n in failures.most_common(6):
        print(f"  failed: {n} × {text}")

    courses_dsn = pg_url(args.postgres, databases["courses"], "postgresql")
    checks = {
        "bookings": check_bookings(courses_dsn, data, facts, out["answers"]["bookings"], args.capacity),
        "redemptions": check_redemptions(
            pg_url(args.postgres, databases["merchants"], "postgresql"),
            data,
            facts,
            out["answers"]["redemptions"],
        ),
        "joins": check_joins(
            pg_url(args.postgres, databases["enrolment"], "postgresql"), facts, out["answers"]["joins"]
        ),
    }
    bare = check_bare_bookings(pg_url(args.postgres, databases["bare"], "postgresql"))
    print("\nchecks from the databases:")
    for name, found in checks.items():
        print(
            f"  {name}: "
            + ", ".join(f"{k} {v}" for k, v in found.items() if k != "ok")
            + f" → {verdict(found['ok'])}"
        )
    print(f"  bare: {bare}")
    five = sum(x["5xx"] for x in f.values())
    print(f"  5xx across every endpoint: {five} (target 0: {verdict(five == 0)})")


class _profiled:
    """py-spy around the run, one summary per service (harness.Profiler)."""

    def __init__(self, profiler: Profiler, started: dict, seconds: float):
        self.samplers = [profiler.around(name, [serve_pid(started[name])], seconds) for name in SERVICES]

    def __enter__(self):
        for sampler in self.samplers:
            sampler.__enter__()
        return self

    def __exit__(self, *exc):
        for sampler in self.samplers:
            sampler.__exit__(*exc)
        return False


if __name__ == "__main__":
    main()
