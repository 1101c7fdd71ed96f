"""A worker joins through a campaign: real-name details, consent, one membership per person.

Every refusal is problem+json, names the field at fault in the caller's language, and writes
nothing: no member, no outbox row, no serial or counter consumed.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from schemas.events import members as member_events
from schemas.resident_id import compute_check_char
from services.enrolment import pii
from services.enrolment import tables as et
from services.enrolment.card_number import is_valid_card_number
from tests.api.enrolment.conftest import EnrolmentApi, join_body, outbox_types
from tests.support import PROBLEM, resident_id


def _tamper_check_char(number: str) -> str:
    good = compute_check_char(number[:17])
    wrong = next(c for c in "0123456789X" if c != good)
    return number[:17] + wrong


# --- the happy path ---------------------------------------------------------------------------


def test_a_worker_joins_an_open_branch_and_is_active_at_once_with_a_checked_card_number(api, tree):
    worker = api.wechat()
    assert worker.member_id is None  # not a member before joining

    response, worker = api.join(tree.campaign_a1["code"], worker=worker)

    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "active"
    assert is_valid_card_number(body["card_no"]) and body["card_no"].startswith("GH52")
    assert body["access_token"] and body["expires_in"] == 900
    # After joining, logging in again finds the membership.
    assert api.wechat_relogin(worker) == body["member_id"]


def test_birth_date_and_sex_are_derived_from_the_resident_id(api, tree):
    from datetime import date

    number = resident_id(born=date(1985, 12, 1), female=True)
    worker = api.member(tree.campaign_a1["code"], id_number=number)

    me = api.client.get("/api/v1/members/me", headers=worker.headers).get_json()
    assert me["sex"] == "female"
    assert me["birth_year"] == 1985
    row = api.rows(et.members, et.members.c.id == worker.member_id)[0]
    assert row.birth_date == date(1985, 12, 1)


def test_a_branch_that_requires_approval_makes_the_applicant_pending(api, tree):
    worker = api.member(tree.campaign_a2["code"])
    assert worker.status == "pending"
    page = api.client.get(f"/api/v1/join/{tree.campaign_a2['code']}").get_json()
    assert page["requires_approval"] is True


def test_the_join_page_names_campaign_site_and_branch(api, tree):
    response = api.client.get(f"/api/v1/join/{tree.campaign_a1['code']}")
    assert response.status_code == 200
    assert response.get_json() == {
        "campaign": "扫码入会",
        "site": "南明区快递驿站",
        "branch": "贵阳市顺丰分会",
        "requires_approval": False,
        "consent_version": "2026-01",
    }


def test_me_shows_the_profile_with_mobile_and_id_masked(api, tree):
    worker = api.member(tree.campaign_a1["code"], mobile="+86 139-0000-1234")
    me = api.client.get("/api/v1/members/me", headers=worker.headers)
    assert me.status_code == 200
    body = me.get_json()
    number = worker.body["id_number"]
    assert body["mobile"] == "139****1234"
    assert body["id_number"] == number[:3] + "*" * 11 + number[-4:]
    assert body["branch"] == "贵阳市顺丰分会"
    assert "13900001234" not in me.get_data(as_text=True)
    assert number not in me.get_data(as_text=True)


def test_me_before_joining_is_404(api, tree):
    worker = api.wechat()
    response = api.client.get("/api/v1/members/me", headers=worker.headers)
    assert response.status_code == 404
    assert response.get_json()["code"] == "member.not_joined"


def test_a_staff_token_cannot_join(api, tree):
    # Joining needs a WeChat identity; a staff token lacks the member role altogether.
    response = api.client.post(
        "/api/v1/join", json=join_body(tree.campaign_a1["code"]), headers=tree.fed_admin
    )
    assert response.status_code == 403


# --- personal data at rest and in events -------------------------------------------------------


def test_the_id_number_and_mobile_are_encrypted_at_rest_and_decrypt_with_the_key_ring(api, app, tree):
    worker = api.member(tree.campaign_a1["code"], mobile="13987654321")
    number = worker.body["id_number"]
    row = api.rows(et.members, et.members.c.id == worker.member_id)[0]

    assert number not in row.id_number_enc and "13987654321" not in row.mobile_enc
    assert row.id_hash and number not in row.id_hash
    ring = app.extensions["enrolment"].secrets.pii
    aad = worker.member_id.encode()
    assert pii.decrypt(ring, row.id_number_enc, associated_data=aad) == number
    assert pii.decrypt(ring, row.mobile_enc, associated_data=aad) == "13987654321"
    # Bound to its row: the same ciphertext does not decrypt as another member's.
    with pytest.raises(pii.DecryptionError):
        pii.decrypt(ring, row.id_number_enc, associated_data=b"another-member")


def test_join_emits_exactly_one_member_joined_event_without_id_number_or_mobile(api, tree):
    worker = api.member(tree.campaign_a1["code"], mobile="13987654321")

    rows = api.outbox()
    assert outbox_types(rows) == [member_events.JOINED]
    (row,) = rows
    assert row.topic == "members" and row.key == worker.member_id
    payload = json.loads(row.payload)
    assert payload["member_id"] == worker.member_id
    assert payload["branch_id"] == tree.a1["id"]
    assert payload["branch_path"] == [tree.root["id"], tree.city_a["id"], tree.a1["id"]]
    assert payload["card_no"] == worker.card_no and payload["status"] == "active"
    for secret in (worker.body["id_number"], "13987654321", "id_number", "mobile"):
        assert secret not in row.payload and secret not in row.headers
    headers = dict(json.loads(row.headers))
    assert headers["ce_type"] == member_events.JOINED
    assert headers["ce_specversion"] == "1.0"
    assert headers["traceparent"]


# --- one person joins once --------------------------------------------------------------------


def test_a_second_join_with_the_same_resident_id_is_409_naming_no_branch_and_creates_no_member(api, tree):
    # Another WeChat account, another branch, same ID number: the answer must not say where (or
    # whether, beyond "held") the number is a member; tests/api/enrolment/test_disputes.py has the rest.
    first = api.member(tree.campaign_a1["code"])
    before = api.snapshot()

    response, _ = api.join(tree.campaign_b1["code"], id_number=first.body["id_number"].lower())

    assert response.status_code == 409
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["code"] == "member.identity_disputed"
    assert "branch" not in problem and "branch_id" not in problem
    assert "贵阳市顺丰分会" not in response.get_data(as_text=True)
    assert api.snapshot() == {**before, "disputes": before["disputes"] + 1}


def test_a_second_join_from_the_same_wechat_identity_is_409_naming_the_branch(api, tree):
    first = api.member(tree.campaign_a1["code"])
    before = api.snapshot()

    response, _ = api.join(
        tree.campaign_b1["code"], worker=first, headers={"Accept-Language": "en"}, id_number=resident_id()
    )

    assert response.status_code == 409
    problem = response.get_json()
    assert problem["code"] == "member.already_joined"
    assert problem["branch"] == "贵阳市顺丰分会"
    assert problem["detail"] == "You are already a member, of 贵阳市顺丰分会."
    assert api.snapshot() == before


def test_a_person_who_left_may_join_again(api, tree):
    first = api.member(tree.campaign_a1["code"])
    left = api.client.post(f"/api/v1/members/{first.member_id}/leave", json={}, headers=tree.fed_admin)
    assert left.status_code == 200

    response, again = api.join(tree.campaign_b1["code"], id_number=first.body["id_number"])
    assert response.status_code == 201
    assert again.member_id != first.member_id


# --- bad input: 422 with field messages, nothing written -----------------------------------------


BAD_INPUT = [
    pytest.param(
        {"id_number": "BAD_CHECK"},
        "id_number",
        "resident_id.checksum",
        "身份证号码校验位不正确，请核对后重新输入",
        "The ID number's check character does not match. Please check and enter it again.",
        id="resident-id-checksum",
    ),
    pytest.param(
        {"mobile": "1234567"},
        "mobile",
        "mobile.invalid",
        "请输入正确的11位中国大陆手机号码",
        "Please enter a valid mainland China mobile number (11 digits starting with 1).",
        id="mobile",
    ),
    pytest.param(
        {"consent": False},
        "consent",
        "consent.required",
        "请阅读并同意《个人信息保护告知书》后再入会",
        "Please read and agree to the privacy notice to join.",
        id="consent-false",
    ),
    pytest.param(
        {"consent": None},
        "consent",
        "null",
        "此项不能为空",
        "This field may not be empty.",
        id="consent-null",
    ),
    pytest.param(
        {"id_number": "52010219900307123"},
        "id_number",
        "resident_id.length",
        "身份证号码应为18位，请核对后重新输入",
        "A resident ID number has 18 characters. Please check and enter it again.",
        id="resident-id-length",
    ),
    pytest.param(
        {"name": "张"},
        "name",
        "length",
        "此项长度不符合要求",
        "This value is too short or too long.",
        id="name-too-short",
    ),
]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("change, field, code, zh, en", BAD_INPUT)
def test_bad_join_input_is_422_with_a_field_message_in_the_callers_language_and_writes_nothing(
    api, tree, lang, change, field, code, zh, en
):
    worker = api.wechat()
    before = api.snapshot()
    body = join_body(tree.campaign_a1["code"])
    if change.get("id_number") == "BAD_CHECK":
        change = {"id_number": _tamper_check_char(body["id_number"])}
    body.update(change)
    headers = {**worker.headers}
    if lang == "en":
        headers["Accept-Language"] = "en-US,en;q=0.9"

    response = api.client.post("/api/v1/join", json=body, headers=headers)

    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert response.headers["Content-Language"] == lang
    problem = response.get_json()
    assert problem["status"] == 422
    assert {"field": field, "code": code, "message": zh if lang == "zh-CN" else en} in problem["errors"]
    assert api.snapshot() == before


def test_missing_consent_is_reported_as_required(api, tree):
    worker = api.wechat()
    body = join_body(tree.campaign_a1["code"])
    del body["consent"]
    response = api.client.post("/api/v1/join", json=body, headers=worker.headers)
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "consent", "code": "required", "message": "此项为必填项"}
    ]
    assert api.count(et.members) == 0 and api.outbox() == []


def test_every_wrong_field_is_reported_at_once(api, tree):
    worker = api.wechat()
    body = join_body(tree.campaign_a1["code"], mobile="23812345678", id_number="520102199013071234")
    del body["employer"]
    response = api.client.post("/api/v1/join", json=body, headers=worker.headers)
    assert response.status_code == 422
    fields = {e["field"]: e["code"] for e in response.get_json()["errors"]}
    assert fields == {
        "mobile": "mobile.invalid",
        "id_number": "resident_id.birth_date",
        "employer": "required",
    }


# --- campaigns that no longer take members ----------------------------------------------------


def test_joining_through_a_revoked_campaign_is_410_and_writes_nothing(api, tree):
    revoked = api.client.post(f"/api/v1/campaigns/{tree.campaign_a1['id']}/revoke", headers=tree.fed_admin)
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    worker = api.wechat()
    before = api.snapshot()

    response, _ = api.join(tree.campaign_a1["code"], worker=worker)

    assert response.status_code == 410
    assert response.mimetype == PROBLEM
    assert response.get_json()["code"] == "campaign.revoked"
    assert response.get_json()["detail"] == "该入会二维码已停用，请扫描工会最新的入会海报"
    assert api.snapshot() == before
    page = api.client.get(f"/api/v1/join/{tree.campaign_a1['code']}", headers={"Accept-Language": "en"})
    assert page.status_code == 410
    assert page.get_json()["detail"].startswith("This QR code has been withdrawn")


def test_joining_through_an_expired_campaign_is_410_and_writes_nothing(api, tree):
    soon = datetime.now(UTC) + timedelta(minutes=5)
    campaign = api.campaign(tree.fed_admin, tree.a1["id"], expires_at=soon.isoformat())
    with api.app.extensions["unionhub"].db.engine.begin() as conn:  # let the campaign end
        conn.execute(
            update(et.campaigns)
            .where(et.campaigns.c.id == campaign["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    worker = api.wechat()
    before = api.snapshot()

    response, _ = api.join(campaign["code"], worker=worker, headers={"Accept-Language": "en"})

    assert response.status_code == 410
    assert response.get_json()["code"] == "campaign.expired"
    assert response.get_json()["detail"] == "This enrolment campaign has ended."
    assert api.snapshot() == before
    assert api.client.get(f"/api/v1/join/{campaign['code']}").status_code == 410


def test_the_scan_page_keeps_a_campaign_briefly_but_revocation_and_expiry_apply_at_once(api, tree):
    campaign = api.campaign(tree.fed_admin, tree.a1["id"])
    code = campaign["code"]
    assert api.client.get(f"/api/v1/join/{code}").get_json()["campaign"] == campaign["name"]
    engine = api.app.extensions["unionhub"].db.engine
    with engine.begin() as conn:  # a change the scan page does not learn of at once
        conn.execute(update(et.campaigns).where(et.campaigns.c.id == campaign["id"]).values(name="renamed"))
    assert api.client.get(f"/api/v1/join/{code}").get_json()["campaign"] == campaign["name"]

    # The kept copy's end is checked at every scan.
    in_a_second = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    ending = api.campaign(tree.fed_admin, tree.a1["id"], expires_at=in_a_second)
    assert api.client.get(f"/api/v1/join/{ending['code']}").status_code == 200
    time.sleep(1.1)
    assert api.client.get(f"/api/v1/join/{ending['code']}").get_json()["code"] == "campaign.expired"

    # Revoking drops this process's copy: the next scan is refused.
    other = api.campaign(tree.fed_admin, tree.a1["id"])
    assert api.client.get(f"/api/v1/join/{other['code']}").status_code == 200
    api.client.post(f"/api/v1/campaigns/{other['id']}/revoke", headers=tree.fed_admin)
    assert api.client.get(f"/api/v1/join/{other['code']}").get_json()["code"] == "campaign.revoked"


def test_an_unknown_campaign_code_is_404(api, tree):
    response, _ = api.join("no-such-code")
    assert response.status_code == 404
    assert response.get_json()["code"] == "campaign.not_found"
    assert api.client.get("/api/v1/join/no-such-code").status_code == 404


# --- Idempotency-Key ---------------------------------------------------------------------------


def test_a_retry_with_the_same_idempotency_key_returns_the_same_answer_and_creates_nothing(api, tree):
    worker = api.wechat()
    body = api.join_body(tree.campaign_a1["code"], worker)
    headers = {**worker.headers, "Idempotency-Key": "join-attempt-1"}

    first = api.client.post("/api/v1/join", json=body, headers=headers)
    assert first.status_code == 201
    after_first = api.snapshot()
    retry = api.client.post("/api/v1/join", json=body, headers=headers)

    assert retry.status_code == 201
    keep = ("member_id", "card_no", "status")
    assert {k: retry.get_json()[k] for k in keep} == {k: first.get_json()[k] for k in keep}
    assert api.snapshot() == after_first
    assert outbox_types(api.outbox()) == [member_events.JOINED]


def test_the_same_idempotency_key_with_a_different_body_is_409_idempotency_key_reused(api, tree):
    worker = api.wechat()
    headers = {**worker.headers, "Idempotency-Key": "join-attempt-1"}
    first = api.client.post(
        "/api/v1/join", json=api.join_body(tree.campaign_a1["code"], worker), headers=headers
    )
    assert first.status_code == 201
    before = api.snapshot()

    other = api.client.post("/api/v1/join", json=join_body(tree.campaign_b1["code"]), headers=headers)

    assert other.status_code == 409
    assert other.mimetype == PROBLEM
    assert other.get_json()["code"] == "idempotency_key_reused"
    assert api.snapshot() == before


# --- rate limit -------------------------------------------------------------------------------


def test_joins_are_rate_limited_per_wechat_identity_with_retry_after(make_app):
    app = make_app(join_limit_per_hour=2)
    api = EnrolmentApi(app.test_client(), app)
    fed = api.admin()
    branch = api.unit(fed, "限流分会", parent_id=api.root_id())
    campaign = api.campaign(fed, branch["id"])
    worker = api.wechat()

    # Two attempts (refused only after the check, for an unknown campaign) use up the allowance.
    for _ in range(2):
        response, _ = api.join("no-such-code", worker=worker)
        assert response.status_code == 404
    before = api.snapshot()
    response, _ = api.join(campaign["code"], worker=worker)

    assert response.status_code == 429
    assert response.mimetype == PROBLEM
    assert response.get_json()["code"] == "too_many_requests"
    assert 1 <= int(response.headers["Retry-After"]) <= 3600
    assert api.snapshot() == before
