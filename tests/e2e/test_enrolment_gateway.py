"""A worker's whole enrolment through the gateway on :8000, against the running services.

Admin logs in, creates a branch and a campaign; a worker opens the campaign, logs in with WeChat
(the local fake), has a join code texted (read from the local identity fake's outbox), joins, sees
the masked profile and a card token; the running relay publishes member.joined to Kafka, and the
worker's metrics count it. Also: the OpenAPI document lists the fixed paths, unknown paths answer
problem+json.
"""

from __future__ import annotations

import os
import re
import time
import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from schemas.events import members as member_events
from services.registry import FAKES
from tests.support import sent_sms_code, unique_resident_id, wx_code

WORKER_METRICS = os.environ.get("UNIONHUB_WORKER_METRICS_URL", "http://127.0.0.1:9101/metrics")
IDENTITY_FAKE = os.environ.get("UNIONHUB_IDENTITY_FAKE_URL", f"http://127.0.0.1:{FAKES['identity']}")

FIXED_PATHS = [
    ("post", "/api/v1/auth/staff/login"),
    ("post", "/api/v1/auth/wechat"),
    ("get", "/.well-known/jwks.json"),
    ("post", "/api/v1/branches"),
    ("post", "/api/v1/campaigns"),
    ("get", "/api/v1/campaigns/{id}/qr.png"),
    ("get", "/api/v1/campaigns/{id}/stats"),
    ("get", "/api/v1/join/{code}"),
    ("post", "/api/v1/join/sms-code"),
    ("post", "/api/v1/join"),
    ("get", "/api/v1/members/me"),
    ("get", "/api/v1/members/me/card/token"),
    ("post", "/api/v1/members/{id}/suspend"),
    ("post", "/api/v1/members/{id}/reinstate"),
    ("post", "/api/v1/members/{id}/leave"),
]


def test_a_worker_enrols_through_the_gateway_and_member_joined_reaches_kafka(gateway, admin, members_topic):
    consumer = members_topic  # positioned at the end before the join
    published_before = worker_metric("unionhub_outbox_published_total", service="enrolment")
    suffix = uuid.uuid4().hex[:6]
    root = next(u for u in admin.get(f"{gateway}/api/v1/branches", timeout=10).json() if not u["parent_id"])
    branch = admin.post(
        f"{gateway}/api/v1/branches",
        json={"name": f"端到端测试分会{suffix}", "parent_id": root["id"]},
        timeout=10,
    )
    assert branch.status_code == 201, branch.text
    campaign = admin.post(
        f"{gateway}/api/v1/campaigns",
        json={"branch_id": branch.json()["id"], "name": "端到端扫码入会", "site": "测试站点"},
        timeout=10,
    )
    assert campaign.status_code == 201, campaign.text
    code = campaign.json()["code"]
    assert campaign.json()["join_url"].endswith(f"/api/v1/join/{code}")

    worker = requests.Session()
    page = worker.get(f"{gateway}/api/v1/join/{code}", timeout=10)
    assert page.status_code == 200
    assert page.json()["branch"] == f"端到端测试分会{suffix}"

    login = worker.post(f"{gateway}/api/v1/auth/wechat", json={"code": wx_code("e2e")}, timeout=10)
    assert login.status_code == 200, login.text
    assert login.json()["member_id"] is None
    worker.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    sms = worker.post(f"{gateway}/api/v1/join/sms-code", json={"mobile": "13512345678"}, timeout=10)
    assert sms.status_code == 202, sms.text
    assert sms.json()["expires_in"] > 0

    id_number = unique_resident_id()
    joined = worker.post(
        f"{gateway}/api/v1/join",
        json={
            "campaign_code": code,
            "name": "李四",
            "mobile": "13512345678",
            "sms_code": sms_code(gateway, "13512345678"),
            "id_number": id_number,
            "employer": "美团",
            "occupation": "骑手",
            "consent": True,
        },
        headers={"Idempotency-Key": uuid.uuid4().hex},
        timeout=10,
    )
    assert joined.status_code == 201, joined.text
    member = joined.json()
    assert member["status"] == "active"
    worker.headers["Authorization"] = f"Bearer {member['access_token']}"

    me = worker.get(f"{gateway}/api/v1/members/me", timeout=10)
    assert me.status_code == 200
    assert me.json()["mobile"] == "135****5678"
    assert me.json()["id_number"] == id_number[:3] + "*" * 11 + id_number[-4:]
    assert id_number not in me.text and "13512345678" not in me.text

    card = worker.get(f"{gateway}/api/v1/members/me/card/token", timeout=10)
    assert card.status_code == 200
    assert card.json()["token"] and 0 < card.json()["expires_in"] <= 60

    # The running relay (worker:enrolment) publishes the outbox row; allow it a bounded time.
    key, found, deadline = member["member_id"].encode(), [], time.monotonic() + 30
    while time.monotonic() < deadline and not found:
        for batch in consumer.poll(timeout_ms=500).values():
            found += [r for r in batch if r.key == key]
    assert found, "member.joined did not reach the members topic within 30 s"
    headers = {name: value.decode() for name, value in found[0].headers}
    assert headers["ce_type"] == member_events.JOINED
    assert id_number.encode() not in found[0].value and b"13512345678" not in found[0].value

    # The worker's own metrics saw it go: the relay counts a row once it is acknowledged and marked.
    deadline = time.monotonic() + 10
    while worker_metric("unionhub_outbox_published_total", service="enrolment") <= published_before:
        assert time.monotonic() < deadline, "the worker's published counter did not move"
        time.sleep(0.2)
    heartbeat = worker_metric(
        "unionhub_worker_loop_heartbeat_timestamp_seconds", service="enrolment", loop="relay"
    )
    assert time.time() - heartbeat < 10


def sms_code(gateway: str, mobile: str) -> str:
    """The code the local identity fake texted: through the gateway's local-only route where it is
    there, else from the fake itself."""
    routed = requests.get(f"{gateway}/fake/sms/messages", params={"mobile": mobile}, timeout=10)
    if routed.status_code == 200 and routed.json():
        return routed.json()[0]["code"]
    return sent_sms_code(IDENTITY_FAKE, mobile)


def test_a_join_with_a_wrong_sms_code_is_refused_through_the_gateway(gateway, admin):
    root = next(u for u in admin.get(f"{gateway}/api/v1/branches", timeout=10).json() if not u["parent_id"])
    branch = admin.post(
        f"{gateway}/api/v1/branches",
        json={"name": f"端到端验证码分会{uuid.uuid4().hex[:6]}", "parent_id": root["id"]},
        timeout=10,
    ).json()
    code = admin.post(
        f"{gateway}/api/v1/campaigns", json={"branch_id": branch["id"], "name": "验证码"}, timeout=10
    ).json()["code"]
    worker = requests.Session()
    login = worker.post(f"{gateway}/api/v1/auth/wechat", json={"code": wx_code("e2e-sms")}, timeout=10)
    worker.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    assert worker.post(f"{gateway}/api/v1/join/sms-code", json={"mobile": "13512340000"}, timeout=10).ok
    sent = sms_code(gateway, "13512340000")

    joined = worker.post(
        f"{gateway}/api/v1/join",
        json={
            "campaign_code": code, "name": "李四", "mobile": "13512340000",
            "sms_code": f"{(int(sent) + 1) % 1_000_000:06d}", "id_number": unique_resident_id(),
            "employer": "美团", "occupation": "骑手", "consent": True,
        },
        timeout=10,
    )  # fmt: skip

    assert joined.status_code == 422, joined.text
    assert joined.json()["code"] == "sms.code_invalid"


def worker_metric(name: str, **labels: str) -> float:
    """One sample from the enrolment worker's /metrics (deploy/local/services.sh: web port + 1000)."""
    text = requests.get(WORKER_METRICS, timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"{name}{labels} is not among the worker's metrics")


def _normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_openapi_document_lists_the_fixed_paths(gateway):
    response = requests.get(f"{gateway}/svc/enrolment/openapi.json", timeout=10)
    assert response.status_code == 200
    documented = {
        (method, _normalise(path))
        for path, operations in response.json()["paths"].items()
        for method in operations
    }
    missing = [(m, p) for m, p in FIXED_PATHS if (m, _normalise(p)) not in documented]
    assert not missing


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing", "/api/v1/members/x/y/z", "/nowhere"])
def test_an_unknown_path_answers_problem_json(gateway, path):
    response = requests.get(f"{gateway}{path}", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["status"] == 404 and response.json()["code"] == "not_found"


def test_the_jwks_through_the_gateway_verifies_an_admin_token(gateway, admin):
    import jwt

    keys = {
        k["kid"]: jwt.PyJWK(k)
        for k in requests.get(f"{gateway}/.well-known/jwks.json", timeout=10).json()["keys"]
    }
    token = admin.headers["Authorization"].split()[1]
    claims = jwt.decode(
        token, keys[jwt.get_unverified_header(token)["kid"]].key, algorithms=["EdDSA"], audience="unionhub"
    )
    assert "admin" in claims["roles"]
