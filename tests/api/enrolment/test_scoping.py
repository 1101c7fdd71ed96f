"""Every admin endpoint is limited to the admin's subtree (no BOLA).

An admin of branch A1, or of city A, touching anything of city B gets 404 (as if it did not
exist, so other branches cannot be probed) and changes nothing; the federation admin, whose subtree
holds city B, gets the same request through (the control). Lists leave city B out. Member and till
tokens get 403 on every admin endpoint; no token gets 401.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from services.enrolment import tables as et
from tests.support import PROBLEM, STAFF_PASSWORD, bearer


@dataclass
class Outside:
    """What lives in city B, outside the scoped admins' subtrees."""

    branch: str
    campaign: str
    member: str  # active, in branch B1
    pending: str  # pending, in branch B2
    inside_member: str  # active, in branch A1 (for a transfer out of the subtree)
    city_b: str
    b2: str


@pytest.fixture
def outside(api, tree) -> Outside:
    b2 = api.unit(tree.fed_admin, "遵义市饿了么分会", parent_id=tree.city_b["id"], requires_approval=True)
    campaign_b2 = api.campaign(tree.fed_admin, b2["id"])
    return Outside(
        branch=tree.b1["id"],
        campaign=tree.campaign_b1["id"],
        member=api.member(tree.campaign_b1["code"]).member_id,
        pending=api.member(campaign_b2["code"]).member_id,
        inside_member=api.member(tree.campaign_a1["code"]).member_id,
        city_b=tree.city_b["id"],
        b2=b2["id"],
    )


# (id, method, path, json body, status the federation admin gets)
ENDPOINTS = [
    ("unit-read", "GET", "/api/v1/branches/{o.branch}", None, 200),
    ("unit-create-under", "POST", "/api/v1/branches", {"name": "新分会", "parent_id": "{o.city_b}"}, 201),
    ("campaign-create", "POST", "/api/v1/campaigns", {"branch_id": "{o.branch}", "name": "扫码"}, 201),
    ("campaign-read", "GET", "/api/v1/campaigns/{o.campaign}", None, 200),
    ("campaign-qr-png", "GET", "/api/v1/campaigns/{o.campaign}/qr.png", None, 200),
    ("campaign-qr-svg", "GET", "/api/v1/campaigns/{o.campaign}/qr.svg", None, 200),
    ("campaign-stats", "GET", "/api/v1/campaigns/{o.campaign}/stats", None, 200),
    ("campaign-revoke", "POST", "/api/v1/campaigns/{o.campaign}/revoke", None, 200),
    ("members-of-branch", "GET", "/api/v1/members?branch_id={o.branch}", None, 200),
    ("export-of-branch", "GET", "/api/v1/members/export.csv?branch_id={o.branch}", None, 200),
    ("member-read", "GET", "/api/v1/members/{o.member}", None, 200),
    ("member-personal-data", "GET", "/api/v1/members/{o.member}/personal-data", None, 200),
    ("member-audit", "GET", "/api/v1/audit?member_id={o.member}", None, 200),
    ("member-approve", "POST", "/api/v1/members/{o.pending}/approve", {}, 200),
    ("member-reject", "POST", "/api/v1/members/{o.pending}/reject", {"reason": "x"}, 200),
    ("member-suspend", "POST", "/api/v1/members/{o.member}/suspend", {}, 200),
    ("member-leave", "POST", "/api/v1/members/{o.member}/leave", {}, 200),
    ("member-transfer", "POST", "/api/v1/members/{o.member}/transfer", {"branch_id": "{o.b2}"}, 200),
    (
        "transfer-out-of-subtree",
        "POST",
        "/api/v1/members/{o.inside_member}/transfer",
        {"branch_id": "{o.branch}"},
        200,
    ),
    (
        "staff-admin-of-branch",
        "POST",
        "/api/v1/staff",
        {"username": "b-admin", "password": STAFF_PASSWORD, "roles": ["admin"], "unit_id": "{o.branch}"},
        201,
    ),
]

# Admin endpoints that take no object id; they are scoped by filtering (see below).
LISTS = [
    ("GET", "/api/v1/branches"),
    ("GET", "/api/v1/campaigns"),
    ("GET", "/api/v1/members"),
    ("GET", "/api/v1/members/export.csv"),
    ("GET", "/api/v1/audit"),
]


def _fill(value, o: Outside):
    if isinstance(value, str):
        return value.format(o=o)
    if isinstance(value, dict):
        return {k: _fill(v, o) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, o) for v in value]
    return value


def _call(api, method, path, body, headers, o):
    return api.client.open(_fill(path, o), method=method, json=_fill(body, o), headers=headers)


def _state(api):
    """Everything an admin request could change."""
    return {
        "counts": api.snapshot(),
        "members": sorted((r.id, r.status, r.unit_id) for r in api.rows(et.members)),
        "campaigns": sorted((r.id, r.status) for r in api.rows(et.campaigns)),
        "units": api.count(et.units),
        "staff": api.count(et.staff),
    }


@pytest.mark.parametrize("admin", ["a1_admin", "city_a_admin"])
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_an_admin_cannot_touch_anything_outside_their_subtree(api, tree, outside, admin, endpoint):
    _, method, path, body, ok = endpoint
    before = _state(api)

    response = _call(api, method, path, body, getattr(tree, admin), outside)

    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert response.get_json()["code"] in ("unit.not_found", "campaign.not_found", "member.not_found")
    assert _state(api) == before  # nothing written: no change, no event, no audit row

    # Control: the federation admin, whose subtree holds city B, is let through.
    control = _call(api, method, path, body, tree.fed_admin, outside)
    assert control.status_code == ok, control.get_data(as_text=True)


def test_lists_leave_out_what_lies_outside_the_subtree(api, tree, outside):
    # One audited read in each city, so the audit trail has something to hide.
    api.client.get(f"/api/v1/members/{outside.member}/personal-data", headers=tree.fed_admin)
    api.client.get(f"/api/v1/members/{outside.inside_member}/personal-data", headers=tree.fed_admin)

    units = {u["id"] for u in api.client.get("/api/v1/branches", headers=tree.city_a_admin).get_json()}
    assert units == {tree.city_a["id"], tree.a1["id"], tree.a2["id"]}
    assert {u["id"] for u in api.client.get("/api/v1/branches", headers=tree.a1_admin).get_json()} == {
        tree.a1["id"]
    }
    campaigns = api.client.get("/api/v1/campaigns", headers=tree.a1_admin).get_json()
    assert {c["id"] for c in campaigns} == {tree.campaign_a1["id"]}
    members = api.client.get("/api/v1/members", headers=tree.city_a_admin).get_json()
    assert [m["id"] for m in members["items"]] == [outside.inside_member] and members["total"] == 1
    export = api.client.get("/api/v1/members/export.csv", headers=tree.a1_admin).get_data(as_text=True)
    assert len(export.strip().splitlines()) == 2  # header + the one member of A1
    audit = api.client.get("/api/v1/audit", headers=tree.city_a_admin).get_json()
    # The A1 admin's export is audited too, and visible up the tree.
    assert [(a["action"], a["member_id"]) for a in audit] == [
        ("export_members", None),
        ("read_personal_data", outside.inside_member),
    ]

    everything = api.client.get("/api/v1/members", headers=tree.fed_admin).get_json()
    assert everything["total"] == 3


def test_a_branch_admin_can_manage_their_own_branch(api, tree):
    worker = api.member(tree.campaign_a1["code"])
    a1 = tree.a1_admin
    assert api.client.get(f"/api/v1/members/{worker.member_id}", headers=a1).status_code == 200
    assert api.client.get(f"/api/v1/campaigns/{tree.campaign_a1['id']}/stats", headers=a1).status_code == 200
    assert api.campaign(a1, tree.a1["id"], name="第二张海报")["branch_id"] == tree.a1["id"]
    assert (
        api.client.post(f"/api/v1/members/{worker.member_id}/suspend", json={}, headers=a1).status_code == 200
    )
    # A branch has no units below it.
    response = api.client.post("/api/v1/branches", json={"name": "小组"}, headers=a1)
    assert response.status_code == 403 and response.get_json()["code"] == "unit.branch_has_no_children"


# --- roles ------------------------------------------------------------------------------------

ALL_ADMIN = [(e[0], e[1], e[2], e[3]) for e in ENDPOINTS] + [
    (f"list{path.replace('/', '-')}", method, path, None) for method, path in LISTS
]


@pytest.fixture
def non_admins(api, tree):
    member = api.member(tree.campaign_a1["code"])
    api.staff(tree.fed_admin, "till-x", roles=("till",), merchant_id="m-1", store_ids=["s-1"])
    api.staff(tree.fed_admin, "coord-x", roles=("coordinator",), station_ids=["st-1"])
    return {
        "member": member.headers,
        "till": bearer(api.login("till-x", STAFF_PASSWORD)),
        "coordinator": bearer(api.login("coord-x", STAFF_PASSWORD)),
    }


@pytest.mark.parametrize("endpoint", ALL_ADMIN, ids=[e[0] for e in ALL_ADMIN])
def test_member_till_and_coordinator_tokens_get_403_and_no_token_401_on_every_admin_endpoint(
    api, tree, outside, non_admins, endpoint
):
    _, method, path, body = endpoint
    before = _state(api)
    for role, headers in non_admins.items():
        response = _call(api, method, path, body, headers, outside)
        assert response.status_code == 403, role
        assert response.get_json()["code"] == "forbidden"
    anonymous = _call(api, method, path, body, {}, outside)
    assert anonymous.status_code == 401
    assert anonymous.mimetype == PROBLEM
    assert _state(api) == before
