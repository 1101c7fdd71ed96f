"""Real-name joining is verified before a membership exists: an SMS code to the mobile, then name and
ID number checked together by the identity provider (the fake over HTTP, services/fakes/identity.py).

Every refused join writes nothing: no member, no event, no counter, no card serial.
"""

from __future__ import annotations

import socket

import pytest
import redis

from services.common.domain import Unavailable
from services.enrolment import identity
from services.fakes.identity import MISMATCH_NAMES, UNKNOWN_ID_NUMBERS
from tests.api.enrolment.conftest import EnrolmentApi
from tests.support import PROBLEM, sent_sms_code


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _refused_field(response, code: str, field: str) -> None:
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["code"] == code
    assert [(e["field"], e["code"]) for e in problem["errors"]] == [(field, code)]


# --- the SMS code --------------------------------------------------------------------------------


def test_a_code_request_is_202_and_the_text_goes_to_the_mobile_never_in_the_answer(api, tree, identity_url):
    worker = api.wechat()
    response = api.client.post(
        "/api/v1/join/sms-code", json={"mobile": "13955550001"}, headers=worker.headers
    )

    assert response.status_code == 202
    assert response.get_json() == {"expires_in": 300}
    code = sent_sms_code(identity_url, "13955550001")
    assert len(code) == 6 and code.isdigit()
    assert code not in response.get_data(as_text=True)


def test_a_code_request_needs_a_wechat_login(api, tree):
    anonymous = api.client.post("/api/v1/join/sms-code", json={"mobile": "13955550001"})
    assert anonymous.status_code == 401
    staff = api.client.post("/api/v1/join/sms-code", json={"mobile": "13955550001"}, headers=tree.fed_admin)
    assert staff.status_code == 403


def test_redis_holds_neither_the_code_nor_the_mobile_in_clear(api, tree, clean_redis):
    worker = api.wechat()
    code = api.sms_code(worker, "13955550002")
    dump = b" ".join(
        [
            k + b" " + b" ".join(v for pair in clean_redis.hgetall(k).items() for v in pair)
            for k in clean_redis.keys("*join_sms:code*")
        ]
    )
    assert (
        dump
        and code.encode() not in dump
        and b"13955550002" not in dump
        and worker.openid.encode() not in dump
    )


def test_a_verified_join_works_and_its_code_cannot_be_used_again(api, tree):
    worker = api.wechat()
    body = api.join_body(tree.campaign_a1["code"], worker)

    joined = api.client.post("/api/v1/join", json=body, headers=worker.headers)
    assert joined.status_code == 201, joined.get_json()
    assert api.wechat_relogin(worker) == joined.get_json()["member_id"]

    # Having left, the same person may join again, but not on the code already spent.
    member_id = joined.get_json()["member_id"]
    assert (
        api.client.post(f"/api/v1/members/{member_id}/leave", json={}, headers=tree.fed_admin).status_code
        == 200
    )
    before = api.snapshot()
    reused = api.client.post(
        "/api/v1/join", json={**body, "campaign_code": tree.campaign_b1["code"]}, headers=worker.headers
    )
    _refused_field(reused, "sms.code_invalid", "sms_code")
    assert api.snapshot() == before


def test_a_wrong_code_is_refused_and_writes_nothing(api, tree):
    worker = api.wechat()
    before = api.snapshot()
    code = api.sms_code(worker, "13955550003")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    response, _ = api.join(tree.campaign_a1["code"], worker=worker, mobile="13955550003", sms_code=wrong)

    _refused_field(response, "sms.code_invalid", "sms_code")
    assert api.snapshot() == before


def test_a_code_is_bound_to_the_login_and_the_mobile_it_was_sent_for(api, tree):
    worker, other = api.wechat(), api.wechat()
    code = api.sms_code(worker, "13955550004")

    for who, mobile in [(other, "13955550004"), (worker, "13955550005")]:
        response, _ = api.join(tree.campaign_a1["code"], worker=who, mobile=mobile, sms_code=code)
        _refused_field(response, "sms.code_invalid", "sms_code")
    ok, _ = api.join(tree.campaign_a1["code"], worker=worker, mobile="13955550004", sms_code=code)
    assert ok.status_code == 201


def test_wrong_guesses_burn_the_code_after_the_allowed_attempts(make_app):
    app = make_app(sms_code_attempts=2)
    api = EnrolmentApi(app.test_client(), app)
    fed = api.admin()
    campaign = api.campaign(fed, api.unit(fed, "验证码分会", parent_id=api.root_id())["id"])
    worker = api.wechat()
    code = api.sms_code(worker, "13955550006")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    for _ in range(2):
        response, _ = api.join(campaign["code"], worker=worker, mobile="13955550006", sms_code=wrong)
        _refused_field(response, "sms.code_invalid", "sms_code")
    response, _ = api.join(campaign["code"], worker=worker, mobile="13955550006", sms_code=code)
    _refused_field(response, "sms.code_invalid", "sms_code")  # the right code, too late


def test_an_expired_code_is_refused(api, tree, clean_redis):
    worker = api.wechat()
    code = api.sms_code(worker, "13955550007")
    for key in clean_redis.keys("enrolment:join_sms:code:*"):
        clean_redis.delete(key)  # what the TTL does after sms_code_ttl seconds

    response, _ = api.join(tree.campaign_a1["code"], worker=worker, mobile="13955550007", sms_code=code)

    _refused_field(response, "sms.code_invalid", "sms_code")


def test_the_code_expires_with_its_ttl(api, tree, clean_redis):
    api.sms_code(api.wechat(), "13955550008")
    (key,) = clean_redis.keys("enrolment:join_sms:code:*")
    assert 0 < clean_redis.ttl(key) <= 300


def test_a_new_code_replaces_the_previous_one(api, tree):
    worker = api.wechat()
    first = api.sms_code(worker, "13955550009")
    second = api.sms_code(worker, "13955550009")
    if first == second:
        pytest.skip("the two random codes happened to be equal")

    stale, _ = api.join(tree.campaign_a1["code"], worker=worker, mobile="13955550009", sms_code=first)
    _refused_field(stale, "sms.code_invalid", "sms_code")


def test_a_join_without_a_code_is_422_required(api, tree):
    worker = api.wechat()
    body = api.join_body(tree.campaign_a1["code"], worker, sms_code="000000")
    del body["sms_code"]
    response = api.client.post("/api/v1/join", json=body, headers=worker.headers)
    assert response.status_code == 422
    assert {"field": "sms_code", "code": "required", "message": "此项为必填项"} in response.get_json()[
        "errors"
    ]


def test_code_requests_are_rate_limited_per_login_and_per_mobile(make_app):
    app = make_app(sms_limit_per_hour=2)
    api = EnrolmentApi(app.test_client(), app)
    worker = api.wechat()
    api.request_sms_code(worker, "13955550010")
    api.request_sms_code(worker, "13955550011")
    per_login = api.request_sms_code(worker, "13955550012", expect=429)
    assert per_login["code"] == "too_many_requests"

    # Two other logins use up one victim's mobile: a third login cannot flood it.
    api.request_sms_code(api.wechat(), "13955550013")
    api.request_sms_code(api.wechat(), "13955550013")
    api.request_sms_code(api.wechat(), "13955550013", expect=429)
    reply = api.send(
        "POST", "/api/v1/join/sms-code", json={"mobile": "13955550013"}, headers=api.wechat().headers
    )
    assert reply.status_code == 429 and 1 <= int(reply.headers["Retry-After"]) <= 3600


# --- name and ID number together ----------------------------------------------------------------


@pytest.mark.parametrize(
    "details",
    [{"name": sorted(MISMATCH_NAMES)[0]}, {"id_number": sorted(UNKNOWN_ID_NUMBERS)[0]}],
    ids=["name-does-not-match", "id-number-unknown"],
)
def test_a_name_and_id_number_that_do_not_belong_together_create_nothing(api, tree, details):
    worker = api.wechat()
    before = api.snapshot()

    response, _ = api.join(
        tree.campaign_a1["code"], worker=worker, headers={"Accept-Language": "en"}, **details
    )

    _refused_field(response, "identity.mismatch", "id_number")
    assert response.get_json()["detail"].startswith("The name and the ID number do not match")
    assert api.snapshot() == before
    stats = api.client.get(f"/api/v1/campaigns/{tree.campaign_a1['id']}/stats", headers=tree.fed_admin)
    assert stats.get_json()["joins"] == 0
    assert api.wechat_relogin(worker) is None


# --- what we depend on is down: 503, nothing let through ------------------------------------------


def test_the_identity_provider_down_is_503_with_retry_after_and_creates_nothing(make_app, identity_url):
    app = make_app(identity_verify_url=f"http://127.0.0.1:{_closed_port()}/identity/verify")
    api = EnrolmentApi(app.test_client(), app)
    fed = api.admin()
    campaign = api.campaign(fed, api.unit(fed, "核验分会", parent_id=api.root_id())["id"])
    before = api.snapshot()

    response, _ = api.join(campaign["code"])

    assert response.status_code == 503
    assert response.mimetype == PROBLEM
    assert response.get_json()["code"] == "identity.unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert api.snapshot() == before


def test_the_sms_gateway_down_is_503_with_retry_after(make_app):
    app = make_app(sms_send_url=f"http://127.0.0.1:{_closed_port()}/sms/send")
    api = EnrolmentApi(app.test_client(), app)
    reply = api.send(
        "POST", "/api/v1/join/sms-code", json={"mobile": "13955550014"}, headers=api.wechat().headers
    )
    assert reply.status_code == 503
    assert reply.json()["code"] == "sms.unavailable" and int(reply.headers["Retry-After"]) > 0


def test_a_resend_the_gateway_cannot_deliver_keeps_the_code_sent_and_costs_no_send(api, tree, monkeypatch):
    worker = api.wechat()
    body = api.join_body(tree.campaign_a1["code"], worker)  # its code reached the phone
    limit = api.app.extensions["enrolment"].settings.sms_limit_per_hour

    def down(*_args, **_kwargs):
        raise Unavailable("sms.unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(identity.Provider, "send_sms", down)
        resends = [
            api.send("POST", "/api/v1/join/sms-code", json={"mobile": body["mobile"]}, headers=worker.headers)
            for _ in range(limit + 1)
        ]

    # Tapping "resend" through the outage: 503 each time (never 429, none was counted)...
    assert {(r.status_code, r.json()["code"]) for r in resends} == {(503, "sms.unavailable")}
    # ...and the code the worker has still joins.
    assert api.client.post("/api/v1/join", json=body, headers=worker.headers).status_code == 201


def test_redis_down_on_the_code_check_is_503_never_a_pass(api, tree, monkeypatch):
    worker = api.wechat()
    body = api.join_body(tree.campaign_a1["code"], worker)
    before = api.snapshot()

    def down(*_args, **_kwargs):
        raise redis.ConnectionError("Redis went away")

    # Only the code check breaks: rate limits and counters before it still answer.
    monkeypatch.setattr(redis.Redis, "transaction", down)
    response = api.client.post("/api/v1/join", json=body, headers=worker.headers)

    assert response.status_code == 503, response.get_json()
    assert response.get_json()["code"] == "sms.unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert api.snapshot() == before
