"""Enrolment load benchmark, measured through the gateway against the RUNNING system.

    .venv/bin/python tests/load/bench_enrolment.py [--joins 600] [--clients 16] [--qr 50]

Not a test (pytest only collects test_*.py). It measures:

1. WeChat logins: one per worker, each with a unique wx.login code (so a unique openid), by
   ``--clients`` threads with a requests.Session each. The running service limits WeChat logins
   to 6 × UNIONHUB_LOGIN_LIMIT_PER_MINUTE (default 10 → 60) a minute per client address. Real
   workers log in from many phones; so does the benchmark: each session connects from its own
   loopback source address (127.x.y.z, any of which reaches 127.0.0.1 on Linux) and moves to a new
   one after 50 logins. It does not forge X-Forwarded-For and does not restart anything.
2. Joins: POST /api/v1/join with the tokens from step 1, each with a unique resident ID, by the
   same number of threads; joins per second over the wall time of the phase, and p50/p99 latency
   of each request as the client saw it. The join limit is per openid (20 an hour), one join each.
   Each join first has its SMS code texted (POST /api/v1/join/sms-code) and reads it from the
   local identity fake's outbox (``--identity-fake``); that step is not in the join's latency, the
   code check and the provider's 二要素 call in the join are.
3. QR PNG rendering: median of ``--qr`` renders in-process (services.common.qr) and through
   the API (GET /api/v1/campaigns/{id}/qr.png via the gateway).

Everything is bounded: at most ``--joins`` joins and ``--max-seconds`` per phase.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from schemas.resident_id import compute_check_char  # noqa: E402
from services.common import qr  # noqa: E402

LOGINS_PER_ADDRESS = 50  # under the service's 60 WeChat logins a minute per address


class SourceAddressAdapter(HTTPAdapter):
    def __init__(self, address: str, **kwargs):
        self.address = address
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def session_from(address: str | None = None) -> requests.Session:
    session = requests.Session()
    if address:
        adapter = SourceAddressAdapter(address, pool_connections=1, pool_maxsize=2)
        session.mount("http://", adapter)
    return session


def random_loopback() -> str:
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def resident_id() -> str:
    region = f"{random.randint(1, 8)}{random.randint(0, 99999):05d}"
    born = date(1960, 1, 1) + timedelta(days=random.randint(0, 40 * 365))
    first17 = f"{region}{born:%Y%m%d}{random.randint(0, 999):03d}"
    return first17 + compute_check_char(first17)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    wall: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies.append(seconds)

    def ok(self, status: int) -> int:
        return self.statuses.get(status, 0)

    def report(self, ok_status: int) -> str:
        ms = [x * 1000 for x in self.latencies]
        rate = self.ok(ok_status) / self.wall if self.wall else 0.0
        return (
            f"{self.name}: {self.ok(ok_status)} ok of {len(ms)} in {self.wall:.2f} s = {rate:.1f}/s; "
            f"latency p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
            f"max {max(ms, default=float('nan')):.1f} ms; statuses {dict(sorted(self.statuses.items()))}"
        )


def machine() -> str:
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or "unknown CPU",
    )
    gunicorn = subprocess.run(
        ["pgrep", "-af", "gunicorn services.enrolment"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    web = gunicorn[0].split("--bind", 1)[1].split("--access", 1)[0].strip() if gunicorn else "not found"
    return (
        f"{os.cpu_count()} CPUs (nproc) — {cpu}; {mem_kb / 1024 / 1024:.1f} GiB RAM; "
        f"Python {platform.python_version()}; enrolment gunicorn: --bind {web}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gateway", default=os.environ.get("UNIONHUB_GATEWAY_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--joins", type=int, default=600)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--qr", type=int, default=50)
    parser.add_argument("--max-seconds", type=float, default=60.0, help="per phase")
    parser.add_argument(
        "--identity-fake",
        default=os.environ.get("UNIONHUB_IDENTITY_FAKE_URL", "http://127.0.0.1:8198"),
        help="the local identity provider fake, whose outbox holds the SMS codes",
    )
    args = parser.parse_args()
    gateway = args.gateway.rstrip("/")
    identity_fake = args.identity_fake.rstrip("/")

    print("machine:", machine())
    admin = requests.Session()
    login = admin.post(
        f"{gateway}/api/v1/auth/staff/login",
        json={"username": "admin", "password": os.environ.get("UNIONHUB_ADMIN_PASSWORD", "unionhub-admin")},
        timeout=10,
    )
    login.raise_for_status()
    admin.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    root = next(u for u in admin.get(f"{gateway}/api/v1/branches", timeout=10).json() if not u["parent_id"])
    tag = uuid.uuid4().hex[:6]
    branch = admin.post(
        f"{gateway}/api/v1/branches", json={"name": f"压测分会{tag}", "parent_id": root["id"]}, timeout=10
    ).json()
    campaign = admin.post(
        f"{gateway}/api/v1/campaigns", json={"branch_id": branch["id"], "name": f"压测{tag}"}, timeout=10
    ).json()

    # 1. WeChat logins --------------------------------------------------------------------------
    logins, tokens, tokens_lock = Phase("wechat login"), [], threading.Lock()
    per_client = [args.joins // args.clients + (i < args.joins % args.clients) for i in range(args.clients)]

    def log_in(count: int, deadline: float) -> None:
        session, used = session_from(random_loopback()), 0
        for _ in range(count):
            if time.monotonic() > deadline:
                break
            if used == LOGINS_PER_ADDRESS:
                session.close()
                session, used = session_from(random_loopback()), 0
            started = time.perf_counter()
            response = session.post(
                f"{gateway}/api/v1/auth/wechat", json={"code": f"bench-{uuid.uuid4().hex}"}, timeout=30
            )
            logins.record(response.status_code, time.perf_counter() - started)
            used += 1
            if response.status_code == 200:
                with tokens_lock:
                    tokens.append(response.json()["access_token"])
        session.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        deadline = time.monotonic() + args.max_seconds
        list(pool.map(lambda n: log_in(n, deadline), per_client))
    logins.wall = time.perf_counter() - started
    print(logins.report(200))

    # 2. joins ----------------------------------------------------------------------------------
    joins = Phase("join")
    queue, queue_lock = list(tokens), threading.Lock()

    def join_all(deadline: float) -> None:
        session = session_from()
        while time.monotonic() < deadline:
            with queue_lock:
                if not queue:
                    break
                token = queue.pop()
            mobile = f"13{random.randint(0, 999_999_999):09d}"
            sms = session.post(
                f"{gateway}/api/v1/join/sms-code",
                json={"mobile": mobile},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            if sms.status_code != 202:
                joins.record(sms.status_code, 0.0)
                continue
            outbox = session.get(f"{identity_fake}/fake/sms/messages", params={"mobile": mobile}, timeout=30)
            body = {
                "campaign_code": campaign["code"],
                "name": "压测",
                "mobile": mobile,
                "sms_code": outbox.json()[0]["code"],
                "id_number": resident_id(),
                "employer": "压测公司",
                "occupation": "骑手",
                "consent": True,
            }
            begun = time.perf_counter()
            response = session.post(
                f"{gateway}/api/v1/join",
                json=body,
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex},
                timeout=30,
            )
            joins.record(response.status_code, time.perf_counter() - begun)
        session.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        deadline = time.monotonic() + args.max_seconds
        list(pool.map(lambda _: join_all(deadline), range(args.clients)))
    joins.wall = time.perf_counter() - started
    print(joins.report(201))

    # 3. QR PNG -----------------------------------------------------------------------------------
    local = []
    for _ in range(args.qr):
        begun = time.perf_counter()
        qr.qr_png(campaign["join_url"])
        local.append((time.perf_counter() - begun) * 1000)
    remote = []
    for _ in range(args.qr):
        begun = time.perf_counter()
        response = admin.get(f"{gateway}/api/v1/campaigns/{campaign['id']}/qr.png", timeout=10)
        remote.append((time.perf_counter() - begun) * 1000)
        response.raise_for_status()
    print(
        f"qr.png ({len(campaign['join_url'])}-char URL, scale 8): in-process median "
        f"{statistics.median(local):.2f} ms; through the gateway median {statistics.median(remote):.2f} ms "
        f"(p99 {percentile(remote, 99):.2f} ms), {args.qr} renders each"
    )
    stats = admin.get(f"{gateway}/api/v1/campaigns/{campaign['id']}/stats", timeout=10).json()
    print(f"campaign stats after the run: joins={stats['joins']} joins_started={stats['joins_started']}")


if __name__ == "__main__":
    main()
