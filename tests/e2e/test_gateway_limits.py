"""The gateway's own limits, against the running system on 127.0.0.1:8000 (deploy/local/up.sh).

* Big bodies are refused at the gateway and never starve anyone else: before the per-route caps,
  anonymous 100 KB-1 MB POSTs to /api/v1/join made up to 7 in 20 of other users' GETs fail with 503
  (gunicorn closed the kept-alive connection rather than drain a body it had not read, and nginx's
  next request on it failed). Several threads post such bodies while others read a real campaign's
  join page; every big body must get a 413 problem+json that no service saw, and no GET a 5xx.
* A proxied answer carries one X-Request-ID, the caller's, though the service echoes it too.
* Operations endpoints (/svc/<name>/metrics, /readyz) and the SMS fake's outbox answer this machine
  only. Any 127.0.0.0/8 address reaches the gateway, but its allow list names 127.0.0.1 and ::1
  alone, so a client bound to 127.0.0.2 is a real caller from an address that is not allowed.

Bounded: a fixed number of big bodies, GETs stop when the posters are done or after 60 s.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from services.registry import FAKES, SERVICES
from tests.support import GATEWAY_URL

POSTERS, BODIES_EACH = 6, 25  # 150 big bodies
READERS, READS_EACH = 4, 250  # at most 1,000 GETs, while the bodies are being posted
TIME_BUDGET = 60.0  # seconds for the whole side-by-side run
PROBLEM = "application/problem+json"
ACCESS_LOG = (
    Path(os.environ.get("UNIONHUB_HOME", Path(__file__).resolve().parents[2] / "var"))
    / "nginx"
    / "access.log"
)
FOREIGN = "127.0.0.2"  # on the loopback interface, but not on the gateway's allow list


@pytest.fixture(scope="module")
def campaign_code(gateway, admin) -> str:
    suffix = uuid.uuid4().hex[:6]
    root = next(u for u in admin.get(f"{gateway}/api/v1/branches", timeout=10).json() if not u["parent_id"])
    branch = admin.post(
        f"{gateway}/api/v1/branches",
        json={"name": f"网关限额测试分会{suffix}", "parent_id": root["id"]},
        timeout=10,
    )
    assert branch.status_code == 201, branch.text
    campaign = admin.post(
        f"{gateway}/api/v1/campaigns",
        json={"branch_id": branch.json()["id"], "name": "网关限额", "site": "测试站点"},
        timeout=10,
    )
    assert campaign.status_code == 201, campaign.text
    return campaign.json()["code"]


def test_a_proxied_answer_carries_one_request_id_the_callers(gateway, campaign_code):
    request_id = f"gw-one-id-{uuid.uuid4().hex}"
    answer = requests.get(
        f"{gateway}/api/v1/join/{campaign_code}", headers={"X-Request-ID": request_id}, timeout=10
    )

    assert answer.status_code == 200, answer.text
    # requests joins a repeated header with ", ": one id means the header came once.
    assert answer.headers["X-Request-ID"] == request_id


def big_body(rng: random.Random) -> bytes:
    """A JSON document of 100 KB to 1 MB, the sizes that starved other users."""
    return json.dumps({"campaign_code": "x", "name": "a" * rng.randint(100_000, 1_000_000)}).encode()


def chunked(body: bytes):
    """The same body without a Content-Length: nginx can only find its size while reading it."""
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


def test_big_bodies_get_413_at_the_gateway_while_other_users_reads_never_see_a_5xx(gateway, campaign_code):
    posted: list[tuple[int, str, dict, str]] = []  # status, content type, problem, request id
    read: Counter = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    posters_done = threading.Event()
    deadline = time.monotonic() + TIME_BUDGET

    def poster(n: int) -> None:
        rng = random.Random(n)
        with requests.Session() as session:
            for i in range(BODIES_EACH):
                body = big_body(rng)
                request_id = f"gw-limits-{uuid.uuid4().hex}"
                headers = {"Content-Type": "application/json", "X-Request-ID": request_id}
                data = chunked(body) if i % 2 else body
                try:
                    r = session.post(f"{gateway}/api/v1/join", data=data, headers=headers, timeout=20)
                except requests.RequestException as error:
                    with lock:
                        errors.append(f"POST of {len(body)} bytes: {error!r}")
                    continue
                problem = r.json() if r.headers.get("Content-Type", "").startswith(PROBLEM) else {}
                with lock:
                    posted.append((r.status_code, r.headers.get("Content-Type", ""), problem, request_id))

    def reader() -> None:
        with requests.Session() as session:
            for _ in range(READS_EACH):
                if posters_done.is_set() or time.monotonic() > deadline:
                    return
                try:
                    r = session.get(f"{gateway}/api/v1/join/{campaign_code}", timeout=20)
                    with lock:
                        read[r.status_code] += 1
                except requests.RequestException as error:
                    with lock:
                        errors.append(f"GET: {error!r}")

    readers = [threading.Thread(target=reader, name=f"reader-{n}") for n in range(READERS)]
    posters = [threading.Thread(target=poster, args=(n,), name=f"poster-{n}") for n in range(POSTERS)]
    for t in readers + posters:
        t.start()
    for t in posters:
        t.join(TIME_BUDGET + 30)
    posters_done.set()
    for t in readers:
        t.join(30)

    print(f"big bodies: {dict(Counter(s for s, *_ in posted))}; reads alongside: {dict(read)}")
    assert not errors, errors[:5]
    server_errors = {status: n for status, n in read.items() if status >= 500}
    assert not server_errors, f"other users' GETs failed: {dict(read)}"
    assert read[200] > 0, dict(read)  # the page was really read (a rate limit may refuse some: 429)
    assert len(posted) == POSTERS * BODIES_EACH
    for status, content_type, problem, _ in posted:
        assert status == 413, (status, problem)
        assert content_type.startswith(PROBLEM)
        assert problem["code"] == "payload_too_large"

    # The gateway answered them itself: no upstream was contacted for any of them.
    if ACCESS_LOG.exists():
        ours = {request_id for *_, request_id in posted}
        seen = {}
        for line in ACCESS_LOG.read_text(errors="replace").splitlines()[-20_000:]:
            if "gw-limits-" in line:
                entry = json.loads(line)
                if entry["request_id"] in ours:
                    seen[entry["request_id"]] = entry
        assert seen.keys() == ours
        assert {(e["status"], e["upstream_addr"]) for e in seen.values()} == {(413, "")}


def test_each_route_has_its_own_cap_and_bodies_under_it_reach_the_service(gateway, admin):
    # 5 KB is over the anonymous routes' cap: the gateway answers.
    refused = requests.post(f"{gateway}/api/v1/join", data=b"x" * 5000, timeout=10)
    assert refused.status_code == 413
    assert refused.headers["Content-Type"].startswith(PROBLEM)
    # A join-sized body passes the gateway; the service answers (it wants a login first).
    small = requests.post(f"{gateway}/api/v1/join", json={"campaign_code": "x"}, timeout=10)
    assert small.status_code == 401, small.text
    # 5 KB is within an admin route's cap: the service itself refuses the over-long name.
    branch = admin.post(f"{gateway}/api/v1/branches", json={"name": "x" * 5000}, timeout=10)
    assert branch.status_code == 422, branch.text


# --- operations endpoints ---------------------------------------------------------------------------


def get_from(source: str, path: str, headers: dict | None = None) -> tuple[int, str]:
    """GET through the gateway with the client socket bound to ``source``."""
    url = urlsplit(GATEWAY_URL)
    connection = http.client.HTTPConnection(
        url.hostname, url.port or 80, timeout=10, source_address=(source, 0)
    )
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", "")
    finally:
        connection.close()


@pytest.fixture(scope="module")
def foreign_source(gateway) -> str:
    if urlsplit(gateway).hostname not in ("127.0.0.1", "localhost"):
        pytest.skip(f"the gateway at {gateway} is not on this machine's loopback")
    try:
        get_from(FOREIGN, "/healthz")
    except OSError as error:
        pytest.skip(f"cannot send from {FOREIGN} on this machine ({error})")
    return FOREIGN


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_operations_endpoints_refuse_an_address_that_is_not_allowed(foreign_source, service):
    for path in ("metrics", "readyz"):
        status, content_type = get_from(foreign_source, f"/svc/{service}/{path}")
        assert (status, content_type) == (403, PROBLEM), path
        # The allow list reads the connection's address, not a header the caller writes.
        status, _ = get_from(foreign_source, f"/svc/{service}/{path}", {"X-Forwarded-For": "127.0.0.1"})
        assert status == 403, path
    # Spelled differently, it is still the same path to nginx.
    for spelling in (
        f"/svc/{service}//%6d%65trics",
        f"/svc/{service}/x/../readyz",
        f"/svc/{service}/readyz?x=1",
    ):
        status, _ = get_from(foreign_source, spelling)
        assert status == 403, spelling


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_rest_of_a_service_root_stays_public_and_this_machine_reads_everything(foreign_source, service):
    for path in ("healthz", "openapi.json"):
        status, _ = get_from(foreign_source, f"/svc/{service}/{path}")
        assert status == 200, path
    status, content_type = get_from("127.0.0.1", f"/svc/{service}/metrics")
    assert status == 200 and content_type.startswith("text/plain"), (status, content_type)
    status, _ = get_from("127.0.0.1", f"/svc/{service}/readyz")
    assert status in (200, 503), status  # 503 only if its database or Redis is down, never a 403


@pytest.mark.skipif("identity" not in FAKES, reason="the identity fake is not registered")
def test_the_sms_outbox_answers_this_machine_only(foreign_source):
    status, content_type = get_from(foreign_source, "/fake/sms/messages")
    assert (status, content_type) == (403, PROBLEM)
    status, _ = get_from("127.0.0.1", "/fake/sms/messages")
    assert status not in (403, 404), status  # routed: 200, or 503 while the fake is not running
