"""One real person, one membership: a verified join on an ID number another WeChat user holds is
no oracle and no takeover. It gets one answer naming no branch and opens a dispute that only the
admins of the held membership's subtree see and resolve; moving it gives the membership to the
verified claimant, with an event and an audit row.
"""

from __future__ import annotations

import json

import pytest

from schemas.events import members as member_events
from services.enrolment import tables as et
from tests.support import PROBLEM


def _stable(response) -> dict:
    """The answer without what differs on every request anyway."""
    body = dict(response.get_json())
    body.pop("request_id", None)
    return {"status": response.status_code, "mimetype": response.mimetype, **body}


def _disputes(api, headers, **query) -> list[dict]:
    path = "/api/v1/disputes" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    response = api.client.get(path, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def held(api, tree):
    """Two memberships in different cities and statuses, and a pending one: whoever holds an ID number."""
    a1 = api.member(tree.campaign_a1["code"])
    b1 = api.member(tree.campaign_b1["code"])
    pending = api.member(tree.campaign_a2["code"])
    return {"a1": a1, "b1": b1, "pending": pending}


def test_the_answer_is_identical_whoever_holds_the_id_number_and_names_no_branch(api, tree, held):
    answers = []
    for holder in held.values():
        response, _ = api.join(tree.campaign_a1["code"], id_number=holder.body["id_number"])
        answers.append(_stable(response))

    assert answers[0] == answers[1] == answers[2]
    (answer,) = {json.dumps(a, sort_keys=True, ensure_ascii=False) for a in answers}
    problem = json.loads(answer)
    assert problem["status"] == 409 and problem["mimetype"] == PROBLEM
    assert problem["code"] == "member.identity_disputed"
    for branch in (
        "贵阳市顺丰分会",
        "遵义市京东分会",
        "贵阳市美团分会",
        tree.a1["id"],
        tree.b1["id"],
        tree.a2["id"],
    ):
        assert branch not in answer
    assert not {"branch", "branch_id", "status_of_member", "dispute_id"} & set(problem)


def test_a_disputed_join_creates_no_member_event_or_counter_but_one_dispute(api, tree, held):
    before = api.snapshot()
    claimant = api.wechat()
    for _ in range(2):  # trying again adds no second dispute
        response, _ = api.join(
            tree.campaign_b1["code"], worker=claimant, id_number=held["a1"].body["id_number"]
        )
        assert response.status_code == 409

    assert api.snapshot() == {**before, "disputes": before["disputes"] + 1}
    assert api.wechat_relogin(claimant) is None


def test_the_same_wechat_identity_joining_twice_still_gets_its_own_branch(api, tree, held):
    worker = held["a1"]
    response, _ = api.join(tree.campaign_b1["code"], worker=worker, id_number=worker.body["id_number"])
    assert response.status_code == 409
    problem = response.get_json()
    assert problem["code"] == "member.already_joined"
    assert (problem["branch"], problem["branch_id"]) == ("贵阳市顺丰分会", tree.a1["id"])
    assert api.count(et.disputes) == 0


def test_a_dispute_is_visible_only_in_the_held_memberships_subtree(api, tree, held):
    # The claimant scans city B's poster; the membership they claim is in branch A1 of city A.
    response, _ = api.join(
        tree.campaign_b1["code"], name="王五", mobile="13955551234", id_number=held["a1"].body["id_number"]
    )
    assert response.status_code == 409
    city_b_admin = api.staff(tree.fed_admin, "city-b-admin", unit_id=tree.city_b["id"])
    b1_admin = api.staff(tree.fed_admin, "b1-admin", unit_id=tree.b1["id"])

    for admin in (tree.fed_admin, tree.city_a_admin, tree.a1_admin):
        (dispute,) = _disputes(api, admin)
        assert dispute["member_id"] == held["a1"].member_id and dispute["branch_id"] == tree.a1["id"]
        assert dispute["status"] == "open"
        assert dispute["claimant_name"] == "王*" and dispute["claimant_mobile"] == "139****1234"
    for admin in (city_b_admin, b1_admin):
        assert _disputes(api, admin) == []
        (dispute_id,) = [d["id"] for d in _disputes(api, tree.fed_admin)]
        refused = api.client.post(
            f"/api/v1/disputes/{dispute_id}/resolve", json={"outcome": "move"}, headers=admin
        )
        assert refused.status_code == 404 and refused.get_json()["code"] == "dispute.not_found"
    member_token = held["b1"].headers
    assert api.client.get("/api/v1/disputes", headers=member_token).status_code == 403


def test_after_a_move_the_former_holder_replaying_their_join_gets_no_token_for_the_membership(api, tree):
    key = {"Idempotency-Key": "join-once"}
    response, holder = api.join(tree.campaign_a1["code"], headers=key)
    assert response.status_code == 201
    held = response.get_json()["member_id"]
    claimant = api.wechat()
    api.join(tree.campaign_b1["code"], worker=claimant, id_number=holder.body["id_number"])
    (dispute,) = _disputes(api, tree.city_a_admin, status="open")
    api.client.post(
        f"/api/v1/disputes/{dispute['id']}/resolve", json={"outcome": "move"}, headers=tree.city_a_admin
    )
    (row,) = api.rows(et.members, et.members.c.id == held)
    assert row.openid == claimant.openid

    replay = api.client.post("/api/v1/join", json=holder.body, headers={**holder.headers, **key})

    # Not the first answer (201 with a fresh token naming the membership): a new join, whose ID
    # number the claimant now holds.
    assert (replay.status_code, replay.get_json()["code"]) == (409, "member.identity_disputed")
    assert api.count(et.idempotency_keys) == 0


def test_resolving_move_gives_the_membership_to_the_claimant_with_an_event_and_an_audit_row(api, tree, held):
    holder = held["a1"]
    claimant = api.wechat()
    response, _ = api.join(
        tree.campaign_b1["code"], worker=claimant, name="赵六", mobile="13955556789",
        employer="美团", occupation="骑手", id_number=holder.body["id_number"],
    )  # fmt: skip
    assert response.status_code == 409
    (dispute,) = _disputes(api, tree.city_a_admin, status="open")
    (opened,) = api.rows(et.disputes)
    (before,) = api.rows(et.members, et.members.c.id == holder.member_id)
    seen = len(api.outbox())

    resolved = api.client.post(
        f"/api/v1/disputes/{dispute['id']}/resolve", json={"outcome": "move"}, headers=tree.city_a_admin
    )

    assert resolved.status_code == 200, resolved.get_json()
    assert resolved.get_json() == {"id": dispute["id"], "member_id": holder.member_id, "status": "moved"}
    (event,) = api.outbox()[seen:]
    assert event.type == member_events.REASSIGNED and event.key == holder.member_id
    payload = json.loads(event.payload)
    assert payload["branch_id"] == tree.a1["id"] and payload["status"] == "active"
    assert "13955556789" not in event.payload and "赵六" not in event.payload
    # The claimant logs in again and the membership is theirs; the previous holder has none.
    logged_in = api.wechat(claimant.code)
    assert logged_in.member_id == holder.member_id
    me = api.client.get("/api/v1/members/me", headers=logged_in.headers).get_json()
    assert (me["id"], me["mobile"], me["card_no"]) == (holder.member_id, "139****6789", holder.card_no)
    (row,) = api.rows(et.members, et.members.c.id == holder.member_id)
    assert (row.name, row.openid) == ("赵六", claimant.openid)
    # The consent on record is the claimant's, given in the join that opened the dispute.
    assert row.consented_at == opened.claimant_consented_at != before.consented_at
    assert row.consent_version == api.app.extensions["enrolment"].settings.consent_version
    assert (me["employer"], me["occupation"]) == ("美团", "骑手")
    assert api.wechat_relogin(holder) is None
    # The previous holder's token, issued before the move, no longer reaches the membership.
    for path in ("/api/v1/members/me", "/api/v1/members/me/card/token"):
        stale = api.client.get(path, headers=holder.headers)
        assert (stale.status_code, stale.get_json()["code"]) == (404, "member.not_found"), path
    assert api.client.post("/api/v1/members/me/erasure", headers=holder.headers).status_code == 404
    audit = api.rows(et.audit_log, et.audit_log.c.action == "dispute_move")
    assert [(a.actor.startswith("staff:"), a.member_id) for a in audit] == [(True, holder.member_id)]
    # Resolved: the claimant's details are gone from the dispute, and it cannot be decided again.
    (row,) = api.rows(et.disputes)
    assert (row.status, row.claimant_name, row.claimant_mobile_enc, row.claimant_openid) == (
        "moved",
        None,
        None,
        None,
    )
    again = api.client.post(
        f"/api/v1/disputes/{dispute['id']}/resolve", json={"outcome": "keep"}, headers=tree.fed_admin
    )
    assert again.status_code == 409 and again.get_json()["code"] == "dispute.resolved"


def test_resolving_keep_closes_the_dispute_and_changes_nothing_else(api, tree, held):
    holder = held["b1"]
    response, claimant = api.join(tree.campaign_a1["code"], id_number=holder.body["id_number"])
    assert response.status_code == 409
    (dispute,) = _disputes(api, tree.fed_admin)
    seen = len(api.outbox())

    kept = api.client.post(
        f"/api/v1/disputes/{dispute['id']}/resolve", json={"outcome": "keep"}, headers=tree.fed_admin
    )

    assert kept.status_code == 200 and kept.get_json()["status"] == "kept"
    assert api.outbox()[seen:] == []
    assert api.wechat_relogin(holder) == holder.member_id and api.wechat_relogin(claimant) is None
    assert [a.action for a in api.rows(et.audit_log)] == ["dispute_keep"]
    assert _disputes(api, tree.fed_admin, status="open") == []
    assert [d["status"] for d in _disputes(api, tree.fed_admin, status="kept")] == ["kept"]


def test_a_resolution_outcome_must_be_keep_or_move(api, tree, held):
    api.join(tree.campaign_a1["code"], id_number=held["b1"].body["id_number"])
    (dispute,) = _disputes(api, tree.fed_admin)
    response = api.client.post(
        f"/api/v1/disputes/{dispute['id']}/resolve", json={"outcome": "delete"}, headers=tree.fed_admin
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "outcome"


def test_a_claimant_asking_for_erasure_withdraws_the_dispute_and_its_details_are_wiped(api, tree, held):
    holder = held["b1"]
    response, claimant = api.join(tree.campaign_a1["code"], id_number=holder.body["id_number"])
    assert response.status_code == 409
    (dispute,) = _disputes(api, tree.fed_admin)
    seen = len(api.outbox())

    erased = api.client.post("/api/v1/members/me/erasure", headers=claimant.headers)

    assert erased.status_code == 204, erased.get_json()
    (row,) = api.rows(et.disputes)
    assert row.status == "withdrawn" and row.resolved_by == f"wx:{claimant.openid}"
    assert (row.claimant_openid, row.claimant_name, row.claimant_mobile_enc, row.claimant_employer) == (
        None,
    ) * 4
    assert api.outbox()[seen:] == []  # the membership it was about is untouched
    assert api.wechat_relogin(holder) == holder.member_id
    assert [(a.action, a.member_id) for a in api.rows(et.audit_log)] == [
        ("dispute_withdrawn", holder.member_id)
    ]
    assert [d["status"] for d in _disputes(api, tree.fed_admin, status="withdrawn")] == ["withdrawn"]
    again = api.client.post("/api/v1/members/me/erasure", headers=claimant.headers)
    assert (again.status_code, again.get_json()["code"]) == (404, "member.not_joined")
