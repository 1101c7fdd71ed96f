"""Admins build the unit tree, create campaigns for a branch and site, revoke them, and read each
campaign's funnel by day (scans → joins started → joins, and the conversion)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.enrolment import tables as et
from tests.support import PROBLEM


def test_the_federation_admin_builds_the_tree_down_to_branches(api):
    fed = api.admin()
    root = api.root_id()
    city = api.unit(fed, "铜仁市总工会", parent_id=root, kind="city")
    county = api.unit(fed, "碧江区总工会", parent_id=city["id"], kind="county")
    industry = api.unit(fed, "碧江区快递行业工会联合会", parent_id=county["id"], kind="industry")
    branch = api.unit(fed, "碧江区顺丰分会", parent_id=industry["id"], requires_approval=True)

    assert (city["kind"], county["kind"], industry["kind"], branch["kind"]) == (
        "city",
        "county",
        "industry",
        "branch",
    )
    assert branch["parent_id"] == industry["id"] and branch["requires_approval"] is True
    detail = api.client.get(f"/api/v1/branches/{branch['id']}", headers=fed)
    assert detail.status_code == 200 and detail.get_json()["name"] == "碧江区顺丰分会"
    # A branch created without parent_id goes under the admin's own unit.
    assert api.unit(fed, "省直机关分会")["parent_id"] == root


@pytest.mark.parametrize(
    "parent, kind, status, code",
    [("city", "city", 409, "unit.kind_order"), ("branch", "branch", 403, "unit.branch_has_no_children")],
)
def test_units_must_nest_in_order(api, tree, parent, kind, status, code):
    parent_id = tree.city_a["id"] if parent == "city" else tree.a1["id"]
    before = api.count(et.units)
    response = api.client.post(
        "/api/v1/branches",
        json={"name": "错误层级", "parent_id": parent_id, "kind": kind},
        headers=tree.fed_admin,
    )
    assert response.status_code == status
    assert response.get_json()["code"] == code
    assert api.count(et.units) == before


def test_an_unknown_unit_kind_is_422(api, tree):
    response = api.client.post(
        "/api/v1/branches",
        json={"name": "x", "kind": "planet"},
        headers={**tree.fed_admin, "Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0] == {
        "field": "kind",
        "code": "one_of",
        "message": "This value is not one of the allowed choices.",
    }


def test_a_campaign_is_created_for_a_branch_and_site_with_a_join_url(api, tree):
    response = api.client.post(
        "/api/v1/campaigns",
        json={"branch_id": tree.a1["id"], "name": "春风行动", "site": "观山湖区快递分拣中心"},
        headers=tree.a1_admin,
    )
    assert response.status_code == 201
    campaign = response.get_json()
    assert campaign["branch_id"] == tree.a1["id"] and campaign["site"] == "观山湖区快递分拣中心"
    assert campaign["status"] == "active" and len(campaign["code"]) >= 16
    assert campaign["join_url"] == f"https://union.example.cn/api/v1/join/{campaign['code']}"
    listed = api.client.get("/api/v1/campaigns", headers=tree.a1_admin).get_json()
    assert campaign["id"] in {c["id"] for c in listed}


def test_campaigns_are_only_for_branches_and_cannot_end_in_the_past(api, tree):
    before = api.count(et.campaigns)
    on_city = api.client.post(
        "/api/v1/campaigns", json={"branch_id": tree.city_a["id"], "name": "x"}, headers=tree.fed_admin
    )
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    ended = api.client.post(
        "/api/v1/campaigns",
        json={"branch_id": tree.a1["id"], "name": "x", "expires_at": past},
        headers=tree.fed_admin,
    )
    assert (on_city.status_code, on_city.get_json()["code"]) == (409, "unit.not_branch")
    assert ended.status_code == 422
    assert ended.get_json()["errors"][0]["field"] == "expires_at"
    assert api.count(et.campaigns) == before


def test_revoking_a_campaign_stops_its_qr_code(api, tree):
    campaign = tree.campaign_a1
    response = api.client.post(f"/api/v1/campaigns/{campaign['id']}/revoke", headers=tree.a1_admin)
    assert response.status_code == 200 and response.get_json()["status"] == "revoked"
    # Revoking twice is harmless.
    assert (
        api.client.post(f"/api/v1/campaigns/{campaign['id']}/revoke", headers=tree.a1_admin).status_code
        == 200
    )

    page = api.client.get(f"/api/v1/join/{campaign['code']}")
    assert page.status_code == 410 and page.mimetype == PROBLEM
    qr = api.client.get(f"/api/v1/campaigns/{campaign['id']}/qr.png", headers=tree.a1_admin)
    assert qr.status_code == 409 and qr.get_json()["code"] == "campaign.revoked"
    (row,) = api.rows(et.campaigns, et.campaigns.c.id == campaign["id"])
    assert row.status == "revoked" and row.revoked_at is not None


def test_the_funnel_counts_scans_joins_started_and_joins_by_day_with_conversion(api, tree):
    code = tree.campaign_a1["code"]
    for _ in range(4):
        assert api.client.get(f"/api/v1/join/{code}").status_code == 200
    api.member(code)
    api.member(code)
    refused, _ = api.join(code, mobile="123")  # refused before it starts: not counted
    assert refused.status_code == 422
    duplicate = api.member(tree.campaign_b1["code"])
    response, _ = api.join(code, id_number=duplicate.body["id_number"])  # started, but a duplicate
    assert response.status_code == 409

    response = api.client.get(f"/api/v1/campaigns/{tree.campaign_a1['id']}/stats", headers=tree.a1_admin)

    assert response.status_code == 200
    stats = response.get_json()
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    # The four scans came from one test client: one unique scanner.
    assert stats["by_day"] == [
        {"day": today, "scans": 4, "unique_scans": 1, "joins_started": 3, "joins": 2, "conversion": 0.5}
    ]
    assert (stats["scans"], stats["joins_started"], stats["joins"], stats["conversion"]) == (4, 3, 2, 0.5)


def test_a_new_campaign_has_an_empty_funnel(api, tree):
    stats = api.client.get(
        f"/api/v1/campaigns/{tree.campaign_b1['id']}/stats", headers=tree.fed_admin
    ).get_json()
    assert (stats["scans"], stats["joins"], stats["conversion"]) == (0, 0, 0.0)
    assert len(stats["by_day"]) == 1


def test_unknown_ids_are_404_problems(api, tree):
    for path in (
        "/api/v1/campaigns/nope",
        "/api/v1/campaigns/nope/stats",
        "/api/v1/campaigns/nope/qr.png",
        "/api/v1/branches/nope",
        "/api/v1/members/nope",
    ):
        response = api.client.get(path, headers=tree.fed_admin)
        assert response.status_code == 404, path
        assert response.mimetype == PROBLEM


def test_a_campaign_expiring_beyond_the_years_every_engine_reads_back_is_refused_by_field(api, tree):
    response = api.client.post(
        "/api/v1/campaigns",
        json={"branch_id": tree.a1["id"], "name": "远期", "expires_at": "9999-12-31T23:59:59-05:00"},
        headers=tree.a1_admin,
    )

    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.get_json()["errors"]] == [
        ("expires_at", "date.out_of_range")
    ]
    listed = api.client.get("/api/v1/campaigns", headers=tree.a1_admin).get_json()
    assert "远期" not in {c["name"] for c in listed}
