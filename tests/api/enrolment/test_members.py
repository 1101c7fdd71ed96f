"""An admin runs members' lives: approve or reject, suspend, reinstate, transfer, record leaving.

Each change emits exactly one member event through the outbox, and no payload carries the resident
ID number or the mobile. Unmasked reads are audited; a member's deletion request erases them.
"""

from __future__ import annotations

import csv
import io
import json
import time

import jwt
import pytest

from schemas.events import members as member_events
from services.common import card_codes
from services.enrolment import tables as et
from tests.api.enrolment.conftest import outbox_types
from tests.support import PROBLEM


def _new_events(api, before: int):
    return api.outbox()[before:]


def _assert_no_personal_data(rows, worker):
    for row in rows:
        for secret in (worker.body["id_number"], worker.body["mobile"]):
            assert secret not in row.payload and secret not in row.headers
        assert "id_number" not in json.loads(row.payload) and "mobile" not in json.loads(row.payload)


def _post(api, headers, member_id, action, body=None):
    return api.client.post(f"/api/v1/members/{member_id}/{action}", json=body or {}, headers=headers)


# --- each status change emits exactly one event -------------------------------------------------


def test_approving_a_pending_application_activates_the_member_and_emits_one_approved_event(api, tree):
    worker = api.member(tree.campaign_a2["code"])
    seen = len(api.outbox())

    response = _post(api, tree.city_a_admin, worker.member_id, "approve")

    assert response.status_code == 200
    assert response.get_json() == {"id": worker.member_id, "status": "active", "branch_id": tree.a2["id"]}
    events = _new_events(api, seen)
    assert outbox_types(events) == [member_events.APPROVED]
    assert events[0].key == worker.member_id
    assert json.loads(events[0].payload)["branch_id"] == tree.a2["id"]
    _assert_no_personal_data(events, worker)


def test_rejecting_a_pending_application_emits_one_rejected_event_with_the_reason(api, tree):
    worker = api.member(tree.campaign_a2["code"])
    seen = len(api.outbox())

    response = _post(api, tree.fed_admin, worker.member_id, "reject", {"reason": "非本单位职工"})

    assert response.status_code == 200 and response.get_json()["status"] == "rejected"
    events = _new_events(api, seen)
    assert outbox_types(events) == [member_events.REJECTED]
    assert json.loads(events[0].payload)["reason"] == "非本单位职工"


def test_suspend_reinstate_transfer_and_leave_each_emit_exactly_one_event(api, tree):
    worker = api.member(tree.campaign_a1["code"])
    admin = tree.city_a_admin
    steps = [
        ("suspend", {"reason": "欠缴会费"}, "suspended", tree.a1["id"], member_events.SUSPENDED),
        ("reinstate", {}, "active", tree.a1["id"], member_events.REINSTATED),
        ("transfer", {"branch_id": tree.a2["id"]}, "active", tree.a2["id"], member_events.TRANSFERRED),
        ("leave", {"reason": "离职"}, "left", tree.a2["id"], member_events.LEFT),
    ]
    for action, body, status, branch_id, event_type in steps:
        seen = len(api.outbox())
        response = _post(api, admin, worker.member_id, action, body)
        assert response.status_code == 200, (action, response.get_json())
        assert response.get_json() == {"id": worker.member_id, "status": status, "branch_id": branch_id}
        events = _new_events(api, seen)
        assert outbox_types(events) == [event_type], action
        assert events[0].key == worker.member_id
        _assert_no_personal_data(events, worker)

    payloads = {r.type: json.loads(r.payload) for r in api.outbox()}
    assert payloads[member_events.SUSPENDED]["reason"] == "欠缴会费"
    moved = payloads[member_events.TRANSFERRED]
    assert (moved["from_branch_id"], moved["to_branch_id"]) == (tree.a1["id"], tree.a2["id"])
    assert moved["branch_path"] == [tree.root["id"], tree.city_a["id"], tree.a2["id"]]
    assert payloads[member_events.LEFT]["reason"] == "left"
    assert outbox_types(api.outbox()) == [
        member_events.JOINED,
        member_events.SUSPENDED,
        member_events.REINSTATED,
        member_events.TRANSFERRED,
        member_events.LEFT,
    ]


@pytest.mark.parametrize(
    "action, body, code",
    [
        ("approve", {}, "member.not_pending"),
        ("reject", {}, "member.not_pending"),
        ("reinstate", {}, "member.not_suspended"),
    ],
)
def test_a_change_that_does_not_fit_the_status_is_409_and_emits_nothing(api, tree, action, body, code):
    worker = api.member(tree.campaign_a1["code"])  # active
    before = api.snapshot()

    response = _post(api, tree.fed_admin, worker.member_id, action, body)

    assert response.status_code == 409
    assert response.mimetype == PROBLEM
    assert response.get_json()["code"] == code
    assert api.snapshot() == before


def test_a_member_who_left_cannot_be_suspended_transferred_or_leave_again(api, tree):
    worker = api.member(tree.campaign_a1["code"])
    assert _post(api, tree.fed_admin, worker.member_id, "leave").status_code == 200
    before = api.snapshot()

    assert _post(api, tree.fed_admin, worker.member_id, "suspend").get_json()["code"] == "member.not_active"
    transfer = _post(api, tree.fed_admin, worker.member_id, "transfer", {"branch_id": tree.b1["id"]})
    assert transfer.status_code == 409 and transfer.get_json()["code"] == "member.not_current"
    assert _post(api, tree.fed_admin, worker.member_id, "leave").status_code == 409
    assert api.snapshot() == before


def test_a_transfer_must_land_in_a_branch(api, tree):
    worker = api.member(tree.campaign_a1["code"])
    before = api.snapshot()
    to_city = _post(api, tree.fed_admin, worker.member_id, "transfer", {"branch_id": tree.city_b["id"]})
    same = _post(api, tree.fed_admin, worker.member_id, "transfer", {"branch_id": tree.a1["id"]})
    assert (to_city.status_code, to_city.get_json()["code"]) == (409, "unit.not_branch")
    assert (same.status_code, same.get_json()["code"]) == (409, "member.same_branch")
    assert api.snapshot() == before


# --- reading members --------------------------------------------------------------------------


def test_the_member_list_is_masked_filterable_and_paginated(api, tree):
    workers = [api.member(tree.campaign_a1["code"], mobile=f"1390000{i:04d}") for i in range(3)]
    api.member(tree.campaign_a2["code"])  # pending

    response = api.client.get("/api/v1/members?per_page=2&status=active", headers=tree.city_a_admin)

    assert response.status_code == 200
    page = response.get_json()
    assert page["total"] == 3 and page["page"] == 1 and len(page["items"]) == 2
    text = response.get_data(as_text=True)
    for w in workers:
        assert w.body["mobile"] not in text and w.body["id_number"] not in text
    assert all("****" in m["mobile"] and "*" * 11 in m["id_number"] for m in page["items"])
    second = api.client.get("/api/v1/members?per_page=2&page=2&status=active", headers=tree.city_a_admin)
    assert len(second.get_json()["items"]) == 1


def test_one_member_detail_is_masked(api, tree):
    worker = api.member(tree.campaign_a1["code"])
    response = api.client.get(f"/api/v1/members/{worker.member_id}", headers=tree.a1_admin)
    assert response.status_code == 200
    body = response.get_json()
    assert body["card_no"] == worker.card_no
    assert body["mobile"] == "138****5678"
    assert worker.body["id_number"] not in response.get_data(as_text=True)


def test_the_csv_export_lists_the_admins_members_masked(api, tree):
    inside = api.member(tree.campaign_a1["code"])
    outside = api.member(tree.campaign_b1["code"])

    response = api.client.get("/api/v1/members/export.csv", headers=tree.city_a_admin)

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [r["card_no"] for r in rows] == [inside.card_no]
    assert rows[0]["mobile"] == "138****5678" and rows[0]["branch"] == "贵阳市顺丰分会"
    assert inside.body["id_number"] not in text and "13812345678" not in text
    assert outside.card_no not in text


def test_reading_unmasked_personal_data_is_audited(api, tree):
    worker = api.member(tree.campaign_a1["code"], mobile="13600001111")
    assert api.count(et.audit_log) == 0

    response = api.client.get(
        f"/api/v1/members/{worker.member_id}/personal-data",
        headers={**tree.a1_admin, "X-Request-ID": "req-audit-1"},
    )

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {
        "member_id": worker.member_id,
        "name": "张三",
        "mobile": "13600001111",
        "id_number": worker.body["id_number"],
    }
    (row,) = api.rows(et.audit_log)
    assert row.action == "read_personal_data"
    assert row.member_id == worker.member_id
    assert row.actor.startswith("staff:")
    assert set(row.fields) == {"name", "mobile", "id_number"}
    # The audit row carries the service's own request id, not the one the client sent; the
    # client's still correlates the logs and comes back in X-Request-ID.
    assert row.request_id != "req-audit-1" and len(row.request_id) == 16
    assert response.headers["X-Request-ID"] == "req-audit-1"
    # Every read is audited, not only the first; and the trail is readable by the admin.
    api.client.get(f"/api/v1/members/{worker.member_id}/personal-data", headers=tree.a1_admin)
    assert api.count(et.audit_log) == 2
    trail = api.client.get(f"/api/v1/audit?member_id={worker.member_id}", headers=tree.city_a_admin)
    assert [e["action"] for e in trail.get_json()] == ["read_personal_data"] * 2


def test_personal_data_reads_are_not_audited_when_refused(api, tree):
    worker = api.member(tree.campaign_b1["code"])
    response = api.client.get(f"/api/v1/members/{worker.member_id}/personal-data", headers=tree.a1_admin)
    assert response.status_code == 404
    assert api.count(et.audit_log) == 0


# --- the member's deletion request ------------------------------------------------------------

ERASURE = "/api/v1/members/me/erasure"
PERSONAL_COLUMNS = (
    "name", "mobile_enc", "mobile_masked", "id_number_enc", "id_number_masked", "id_hash", "openid",
    "birth_date", "sex",
)  # fmt: skip


def _assert_erased(api, worker) -> None:
    """The worker's membership row keeps its card number and history, and nothing about them."""
    (row,) = api.rows(et.members, et.members.c.id == worker.member_id)
    assert row.status == "left" and row.erased_at is not None
    assert {column: getattr(row, column) for column in PERSONAL_COLUMNS} == dict.fromkeys(PERSONAL_COLUMNS)
    assert (row.employer, row.occupation) == ("", "")
    assert row.card_no == worker.card_no


def _erasures(api, seen: int) -> list[tuple[str, str, str]]:
    """The member events since ``seen``: (type, member id, reason)."""
    return [(e.type, e.key, json.loads(e.payload)["reason"]) for e in _new_events(api, seen)]


def _erase_audits(api) -> list[str]:
    """The member ids of the erasures' audit rows."""
    return [a.member_id for a in api.rows(et.audit_log, et.audit_log.c.action == "erase")]


def test_an_erasure_request_wipes_personal_data_and_emits_member_left_with_reason_erased(api, tree):
    worker = api.member(tree.campaign_a1["code"])
    seen = len(api.outbox())

    response = api.client.post(ERASURE, headers=worker.headers)

    assert response.status_code == 204
    _assert_erased(api, worker)
    assert _erasures(api, seen) == [(member_events.LEFT, worker.member_id, "erased")]
    _assert_no_personal_data(_new_events(api, seen), worker)
    (audit,) = api.rows(et.audit_log)
    assert (audit.action, audit.member_id) == ("erase", worker.member_id)

    # Gone for good: the member's own profile, the admin's unmasked read, and a second request.
    assert api.client.get("/api/v1/members/me", headers=worker.headers).status_code == 404
    read = api.client.get(f"/api/v1/members/{worker.member_id}/personal-data", headers=tree.fed_admin)
    assert read.status_code == 409 and read.get_json()["code"] == "member.erased"
    again = api.client.post(ERASURE, headers=worker.headers)
    assert again.status_code == 409
    assert len(api.outbox()) == seen + 1


@pytest.mark.parametrize(
    "campaign, ending", [("campaign_a1", "leave"), ("campaign_a2", "reject")], ids=["left", "rejected"]
)
def test_a_person_whose_membership_ended_may_still_have_its_personal_data_erased(api, tree, campaign, ending):
    worker = api.member(getattr(tree, campaign)["code"])
    assert _post(api, tree.city_a_admin, worker.member_id, ending).status_code == 200
    returning = api.wechat(worker.code)
    assert returning.member_id is None  # a login names a current membership only
    seen = len(api.outbox())

    response = api.client.post(ERASURE, headers=returning.headers)

    assert response.status_code == 204
    _assert_erased(api, worker)
    assert _erasures(api, seen) == [(member_events.LEFT, worker.member_id, "erased")]
    assert _erase_audits(api) == [worker.member_id]


def test_an_erasure_wipes_every_membership_the_person_held_and_a_second_one_changes_nothing(api, tree):
    first = api.member(tree.campaign_a1["code"])
    assert _post(api, tree.city_a_admin, first.member_id, "leave").status_code == 200
    returning = api.wechat(first.code)
    rejoined = api.member(tree.campaign_b1["code"], worker=returning, id_number=first.body["id_number"])
    seen = len(api.outbox())

    response = api.client.post(ERASURE, headers=rejoined.headers)

    assert response.status_code == 204
    _assert_erased(api, first)
    _assert_erased(api, rejoined)
    both = sorted([first.member_id, rejoined.member_id])
    assert _erasures(api, seen) == [(member_events.LEFT, member_id, "erased") for member_id in both]
    assert sorted(_erase_audits(api)) == both

    before = (api.snapshot(), api.rows(et.members))
    again = api.client.post(ERASURE, headers=rejoined.headers)
    assert (again.status_code, again.get_json()["code"]) == (409, "member.erased")
    logged_in_again = api.client.post(ERASURE, headers=api.wechat(first.code).headers)
    assert (logged_in_again.status_code, logged_in_again.get_json()["code"]) == (404, "member.not_joined")
    assert (api.snapshot(), api.rows(et.members)) == before


def test_after_erasure_the_same_person_may_join_again(api, tree):
    worker = api.member(tree.campaign_a1["code"])
    api.client.post(ERASURE, headers=worker.headers)
    response, again = api.join(tree.campaign_a1["code"], id_number=worker.body["id_number"])
    assert response.status_code == 201 and again.member_id != worker.member_id


def test_after_erasure_replaying_the_joins_idempotency_key_does_not_bring_the_member_back(api, tree):
    worker = api.wechat()
    body = api.join_body(tree.campaign_a1["code"], worker)
    headers = {**worker.headers, "Idempotency-Key": "join-before-erasure"}
    joined = api.client.post("/api/v1/join", json=body, headers=headers)
    assert joined.status_code == 201
    member_token = {"Authorization": f"Bearer {joined.get_json()['access_token']}"}
    assert api.client.post(ERASURE, headers=member_token).status_code == 204
    assert api.count(et.idempotency_keys) == 0  # the stored answer named the member: it went too

    replay = api.client.post("/api/v1/join", json=body, headers=headers)

    # A new request now, never the stored answer: whatever it decides, it does not hand back the
    # erased membership (within the SMS code's lifetime the same request may join afresh).
    assert replay.status_code in (201, 422), replay.get_json()
    assert joined.get_json()["member_id"] not in replay.get_data(as_text=True)
    assert joined.get_json()["card_no"] not in replay.get_data(as_text=True)


def test_erasure_before_joining_is_404(api, tree):
    worker = api.wechat()
    assert api.client.post(ERASURE, headers=worker.headers).status_code == 404


# --- the rotating card code -------------------------------------------------------------------


@pytest.fixture
def till(api, tree):
    return api.staff(tree.fed_admin, "till-1", roles=("till",), merchant_id="m-1", store_ids=["s-1"])


def test_a_card_token_is_accepted_once_by_a_till(api, tree, till):
    worker = api.member(tree.campaign_a1["code"])
    issued = api.client.get("/api/v1/members/me/card/token", headers=worker.headers)
    assert issued.status_code == 200
    assert issued.headers["Cache-Control"] == "no-store"
    token = issued.get_json()["token"]
    assert issued.get_json()["expires_in"] == 60

    first = api.client.post("/api/v1/card-tokens/redeem", json={"token": token}, headers=till)
    again = api.client.post("/api/v1/card-tokens/redeem", json={"token": token}, headers=till)

    assert first.status_code == 200
    assert first.get_json() == {
        "member_id": worker.member_id,
        "card_no": worker.card_no,
        "status": "active",
        "branch_id": tree.a1["id"],
    }
    assert again.status_code == 409
    assert again.mimetype == PROBLEM and again.get_json()["code"] == "card_token.used"


def _redeem_code(api, till, token: str) -> str | None:
    """The problem code of redeeming ``token``, or None when the till accepted it."""
    response = api.client.post("/api/v1/card-tokens/redeem", json={"token": token}, headers=till)
    if response.status_code == 200:
        return None
    assert response.status_code == 422, response.get_json()
    (error,) = response.get_json()["errors"]
    assert error["field"] == "token"
    return error["code"]


def test_an_expired_forged_truncated_or_foreign_card_code_is_refused(api, tree, till):
    worker = api.member(tree.campaign_a1["code"])
    token = api.client.get("/api/v1/members/me/card/token", headers=worker.headers).get_json()["token"]
    forged = token[:-1] + ("A" if not token.endswith("A") else "B")
    enrolment = api.app.extensions["enrolment"]
    stale, _ = enrolment.cards.issue(worker.member_id, now=1_700_000_000)
    signer = enrolment.secrets.signing_keys[0]
    # Signed with enrolment's JWT key, and short enough to pass the body's length limit.
    a_jwt = jwt.encode(
        {"sub": worker.member_id}, signer.private_key, algorithm="EdDSA", headers={"kid": signer.kid}
    )

    assert _redeem_code(api, till, forged) == "card_token.signature"
    assert _redeem_code(api, till, stale) == "card_token.expired"
    assert _redeem_code(api, till, token[:-4]) == "card_token.malformed"
    assert _redeem_code(api, till, a_jwt) == "card_token.malformed"
    assert _redeem_code(api, till, token) is None  # none of the above used the real one up


def test_a_card_code_is_not_an_access_token(api, tree):
    worker = api.member(tree.campaign_a1["code"])
    token = api.client.get("/api/v1/members/me/card/token", headers=worker.headers).get_json()["token"]

    response = api.client.get("/api/v1/members/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401


def test_the_card_keys_are_published_apart_from_the_token_keys_and_verify_the_cards_codes(api, tree):
    worker = api.member(tree.campaign_a1["code"])
    token = api.client.get("/api/v1/members/me/card/token", headers=worker.headers).get_json()["token"]

    published = api.client.get(card_codes.KEYS_PATH)
    jwks = api.client.get("/.well-known/jwks.json").get_json()

    assert published.status_code == 200 and published.mimetype == "application/json"
    assert "max-age=" in published.headers["Cache-Control"]
    keys = published.get_json()["keys"]
    assert {(k["kty"], k["crv"], k["alg"], k["use"]) for k in keys} == {("OKP", "Ed25519", "EdDSA", "sig")}
    assert {k["x"] for k in keys}.isdisjoint(k["x"] for k in jwks["keys"])
    claims = card_codes.verify(token, card_codes.jwks_keys(published.get_json()), now=int(time.time()))
    assert claims.member_id == worker.member_id


def test_a_card_code_redeemed_at_a_till_elsewhere_is_refused_here_and_the_other_way_round(
    api, tree, till, redis_client
):
    """Merchants' tills redeem with the common code and the one used-nonce key in the shared Redis."""
    worker = api.member(tree.campaign_a1["code"])
    keys = card_codes.jwks_keys(api.client.get(card_codes.KEYS_PATH).get_json())
    elsewhere = card_codes.RedisUsedTokens(redis_client)

    def code() -> str:
        return api.client.get("/api/v1/members/me/card/token", headers=worker.headers).get_json()["token"]

    first, second = code(), code()
    card_codes.redeem(first, keys, now=int(time.time()), used=elsewhere)
    here = api.client.post("/api/v1/card-tokens/redeem", json={"token": first}, headers=till)
    assert here.status_code == 409 and here.get_json()["code"] == "card_token.used"

    assert (
        api.client.post("/api/v1/card-tokens/redeem", json={"token": second}, headers=till).status_code == 200
    )
    with pytest.raises(card_codes.CardTokenError) as there:
        card_codes.redeem(second, keys, now=int(time.time()), used=elsewhere)
    assert there.value.code == "card_token.used"


def test_a_suspended_members_card_is_refused(api, tree, till):
    worker = api.member(tree.campaign_a1["code"])
    token = api.client.get("/api/v1/members/me/card/token", headers=worker.headers).get_json()["token"]
    _post(api, tree.fed_admin, worker.member_id, "suspend")

    assert api.client.get("/api/v1/members/me/card/token", headers=worker.headers).status_code == 409
    refused = api.client.post("/api/v1/card-tokens/redeem", json={"token": token}, headers=till)
    assert refused.status_code == 409 and refused.get_json()["code"] == "member.not_active"
    # The refusal spent nothing: reinstated within the code's minute, the same scan goes through.
    _post(api, tree.fed_admin, worker.member_id, "reinstate")
    again = api.client.post("/api/v1/card-tokens/redeem", json={"token": token}, headers=till)
    assert again.status_code == 200


def test_a_till_redeems_only_so_many_card_codes_a_minute(api, tree, till, make_app):
    limited = make_app(redeem_limit_per_minute=2).test_client()
    codes = []
    for _ in range(3):
        worker = api.member(tree.campaign_a1["code"])
        codes.append(
            api.client.get("/api/v1/members/me/card/token", headers=worker.headers).get_json()["token"]
        )

    answers = [limited.post("/api/v1/card-tokens/redeem", json={"token": c}, headers=till) for c in codes]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) > 0
    # Refused before it was looked at: the third code is still good at another till.
    other = api.staff(tree.fed_admin, "till-2", roles=("till",), merchant_id="m-1", store_ids=["s-1"])
    assert (
        api.client.post("/api/v1/card-tokens/redeem", json={"token": codes[2]}, headers=other).status_code
        == 200
    )


def test_a_pending_member_gets_no_card_token(api, tree):
    worker = api.member(tree.campaign_a2["code"])
    response = api.client.get("/api/v1/members/me/card/token", headers=worker.headers)
    assert response.status_code == 409


def test_only_tills_redeem_card_tokens(api, tree):
    worker = api.member(tree.campaign_a1["code"])
    token = api.client.get("/api/v1/members/me/card/token", headers=worker.headers).get_json()["token"]
    for headers in (worker.headers, tree.fed_admin):
        response = api.client.post("/api/v1/card-tokens/redeem", json={"token": token}, headers=headers)
        assert response.status_code == 403
    assert api.client.post("/api/v1/card-tokens/redeem", json={"token": token}).status_code == 401
