"""Coordinators registering stations: an admin's registration grant in this service's own records
decides, never a role, unit or station claim in the token (issue 11)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.stations import tables
from tests.support import build_app, dispose_app, service_settings

from .conftest import BRANCHES, station_body

PROBLEM = "application/problem+json"
GRANTS = "/api/v1/stations/registration-grants"


class Registrar:
    """An admin of city-1 and the coordinator login coord-1 they grant branches to."""

    def __init__(self, api, mint):
        self.api, self.mint = api, mint
        self.admin = mint.admin("city-1")
        self.coordinator = mint.staff("coord-1", "coordinator")

    def grant(self, branch_id: str, staff_id: str = "coord-1", *, admin=None, expect: int = 201) -> dict:
        body = {"staff_id": staff_id, "branch_id": branch_id}
        return self.api.post(GRANTS, body, headers=admin or self.admin, expect=expect)

    def register(self, branch_id: str, headers=None, **overrides):
        body = station_body(branch_id=branch_id, **overrides)
        return self.api.send("POST", "/api/v1/stations", json=body, headers=headers or self.coordinator)


@pytest.fixture
def registrar(api, token_mint):
    return Registrar(api, token_mint)


def count(app, table) -> int:
    with app.extensions["unionhub"].db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def assert_refused(reply, app, *, stations_before: int = 0) -> None:
    assert reply.status_code == 403
    assert reply.headers["Content-Type"].startswith(PROBLEM)
    assert reply.json()["code"] == "station.registration_not_granted"
    assert count(app, tables.stations) == stations_before
    assert count(app, tables.station_coordinators) == stations_before


def test_a_granted_coordinator_registers_a_station_and_runs_it(registrar, api, app):
    grant = registrar.grant("b-1")
    assert (grant["staff_id"], grant["branch_id"], grant["branch_path"]) == (
        "coord-1",
        "b-1",
        ["root", "city-1", "b-1"],
    )
    assert (grant["granted_by"], grant["revoked_at"]) == ("staff:admin", None)

    reply = registrar.register("b-1")

    assert reply.status_code == 201
    station_id = reply.json()["id"]
    managed = api.get(f"/api/v1/stations/{station_id}/manage", headers=registrar.coordinator)
    assert (managed["branch_id"], managed["coordinators"]) == ("b-1", ["coord-1"])
    assert [s["id"] for s in api.get("/api/v1/stations/managed", headers=registrar.coordinator)] == [
        station_id
    ]
    # The branch path came from enrolment: the branch's admins manage the station too.
    assert api.get(f"/api/v1/stations/{station_id}/manage", headers=registrar.admin)["id"] == station_id
    assert [s["id"] for s in api.get("/api/v1/stations?lat=26.56&lng=106.69")] == [station_id]


def test_a_grant_covers_its_branch_and_the_branches_below_it(registrar, token_mint, app):
    registrar.grant("city-1")
    # b-2's path is known here too (granted to someone else), so only the grant rule refuses it.
    registrar.grant("b-2", staff_id="coord-2", admin=token_mint.admin("city-2"))

    assert registrar.register("b-1").status_code == 201
    assert registrar.register("b-1-1").status_code == 201
    assert_refused(registrar.register("b-2"), app, stations_before=2)


def test_a_grant_for_another_branch_does_not_cover_this_one(registrar, token_mint, app):
    registrar.grant("b-2", admin=token_mint.admin("city-2"))
    registrar.grant("b-1-1")  # below b-1, not above it

    assert_refused(registrar.register("b-1"), app)
    # Another coordinator's grant covers nothing of coord-1's.
    registrar.grant("b-1", staff_id="coord-2")
    assert_refused(registrar.register("b-1"), app)


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"units": ["root", "city-1", "b-1"]},
        {"station_ids": ["any"], "units": ["b-1"], "roles_also": ["till"]},
    ],
    ids=["role alone", "units claimed", "station and units claimed"],
)
def test_without_a_grant_a_coordinator_is_refused_whatever_the_token_claims(
    registrar, token_mint, app, claims
):
    roles = ["coordinator", *claims.pop("roles_also", [])]
    headers = token_mint.headers("staff:coord-1", roles, **claims)

    assert_refused(registrar.register("b-1", headers), app)


def test_the_refusal_is_problem_json_in_the_callers_language(registrar, app):
    english = registrar.register("b-1", {**registrar.coordinator, "Accept-Language": "en"}).json()
    chinese = registrar.register("b-1", {**registrar.coordinator, "Accept-Language": "zh-CN"}).json()

    assert "grant" in english["detail"] and "授权" in chinese["detail"]
    assert english["status"] == chinese["status"] == 403


def test_a_revoked_grant_refuses_new_registrations_and_the_stations_registered_keep_their_coordinator(
    registrar, api, app
):
    grant = registrar.grant("b-1")
    before = registrar.register("b-1").json()["id"]

    api.call("DELETE", f"{GRANTS}/{grant['id']}", headers=registrar.admin, expect=204)

    assert_refused(registrar.register("b-1"), app, stations_before=1)
    kept = api.get(f"/api/v1/stations/{before}/manage", headers=registrar.coordinator)
    assert kept["coordinators"] == ["coord-1"]
    (listed,) = api.get(GRANTS, headers=registrar.admin)
    assert (listed["revoked_by"], listed["revoked_at"] is not None) == ("staff:admin", True)
    # Revoking again changes nothing: the first revocation's record stays.
    api.call("DELETE", f"{GRANTS}/{grant['id']}", headers=registrar.admin, expect=204)
    assert api.get(GRANTS, headers=registrar.admin) == [listed]
    # A new grant lets the coordinator register again.
    registrar.grant("b-1")
    assert registrar.register("b-1").status_code == 201


def test_an_admin_outside_the_subtree_can_neither_grant_nor_see_nor_revoke(registrar, api, token_mint, app):
    stranger = token_mint.admin("city-2")
    refused = api.send("POST", GRANTS, json={"staff_id": "coord-1", "branch_id": "b-1"}, headers=stranger)
    assert (refused.status_code, refused.json()["code"]) == (404, "branch.not_found")
    assert count(app, tables.registration_grants) == 0
    assert_refused(registrar.register("b-1"), app)

    grant = registrar.grant("city-1")
    below = token_mint.admin("b-1")  # an admin under the granted branch does not hold it either
    for admin in (stranger, below):
        assert api.get(GRANTS, headers=admin) == []
        reply = api.send("DELETE", f"{GRANTS}/{grant['id']}", headers=admin)
        assert (reply.status_code, reply.json()["code"]) == (404, "registration_grant.not_found")
    assert api.get(GRANTS, headers=registrar.admin)[0]["revoked_at"] is None
    assert registrar.register("b-1").status_code == 201


def test_only_admins_grant_list_and_revoke(registrar, api, token_mint, app):
    grant = registrar.grant("b-1")
    for headers in (registrar.coordinator, token_mint.member("m-1"), token_mint.staff("t-1", "till")):
        body = {"staff_id": "coord-1", "branch_id": "b-1-1"}
        assert api.send("POST", GRANTS, json=body, headers=headers).status_code == 403
        assert api.send("GET", GRANTS, headers=headers).status_code == 403
        assert api.send("DELETE", f"{GRANTS}/{grant['id']}", headers=headers).status_code == 403
    assert api.send("GET", GRANTS).status_code == 401
    assert [g["revoked_at"] for g in api.get(GRANTS, headers=registrar.admin)] == [None]


def test_a_coordinator_names_neither_another_coordinator_nor_a_branch_outside_the_grant(registrar, api, app):
    registrar.grant("b-1")
    taken = {
        "coordinators": ["coord-2"],
        "staff_id": "coord-2",
        "branch_path": ["root"],
        "qr_generation": 9,
        "created_by": "staff:coord-2",
    }

    station_id = registrar.register("b-1", **taken).json()["id"]

    stored = api.get(f"/api/v1/stations/{station_id}/manage", headers=registrar.admin)
    assert (stored["coordinators"], stored["qr_generation"]) == (["coord-1"], 1)
    coord_2 = registrar.mint.staff("coord-2", "coordinator")
    assert api.send("GET", f"/api/v1/stations/{station_id}/manage", headers=coord_2).status_code == 404
    with app.extensions["unionhub"].db.engine.connect() as conn:
        row = conn.execute(select(tables.stations).where(tables.stations.c.id == station_id)).one()
    assert (row.branch_path, row.created_by) == (["root", "city-1", "b-1"], "staff:coord-1")
    # A branch outside the grant is refused even when the body claims a path inside it.
    outside = registrar.register("b-2", branch_path=["root", "city-1", "b-1"])
    assert_refused(outside, app, stations_before=1)


def test_a_grant_takes_neither_its_path_nor_its_granter_nor_a_revocation_from_the_body(registrar, api):
    body = {
        "staff_id": "coord-1",
        "branch_id": "b-1",
        "branch_path": ["root"],
        "granted_by": "staff:someone",
        "revoked_at": "2020-01-01T00:00:00Z",
        "id": "chosen",
    }
    made = api.post(GRANTS, body, headers=registrar.admin, expect=201)

    assert made["id"] != "chosen"
    assert (made["branch_path"], made["granted_by"], made["revoked_at"]) == (
        ["root", "city-1", "b-1"],
        "staff:admin",
        None,
    )


def test_granting_again_is_the_same_grant_and_covers_branches_enrolment_created_since(
    registrar, api, app, monkeypatch
):
    first = registrar.grant("city-1")
    monkeypatch.setitem(BRANCHES, "b-1-2", ["root", "city-1", "b-1", "b-1-2"])
    assert_refused(registrar.register("b-1-2"), app)

    again = registrar.grant("city-1", expect=200)

    assert again["id"] == first["id"]
    assert count(app, tables.registration_grants) == 1
    assert registrar.register("b-1-2").status_code == 201


def test_an_admin_lists_the_grants_of_their_subtree_by_coordinator_and_live_ones(registrar, api):
    old = registrar.grant("b-1")
    api.call("DELETE", f"{GRANTS}/{old['id']}", headers=registrar.admin, expect=204)
    live = registrar.grant("b-1")
    other = registrar.grant("b-1-1", staff_id="coord-2")

    everything = api.get(GRANTS, headers=registrar.admin)
    assert {g["id"] for g in everything} == {old["id"], live["id"], other["id"]}
    assert [g["id"] for g in api.get(f"{GRANTS}?live=true", headers=registrar.admin)] in (
        [other["id"], live["id"]],
        [live["id"], other["id"]],
    )
    assert {g["id"] for g in api.get(f"{GRANTS}?staff_id=coord-1", headers=registrar.admin)} == {
        old["id"],
        live["id"],
    }
    assert [g["id"] for g in api.get(f"{GRANTS}?staff_id=coord-2", headers=registrar.mint.admin("b-1"))] == [
        other["id"]
    ]


def test_enrolment_down_while_granting_is_503_with_retry_after_and_grants_nothing(
    tmp_path, token_mint, clean_redis
):
    from tests.support import Api

    settings = service_settings(
        "stations", tmp_path, enrolment_url="http://127.0.0.1:9", **token_mint.settings
    )  # nothing listens there
    app = build_app("stations", settings)
    try:
        reply = Api(app.test_client()).send(
            "POST",
            GRANTS,
            json={"staff_id": "coord-1", "branch_id": "b-1"},
            headers=token_mint.admin("city-1"),
        )
        assert reply.status_code == 503 and reply.headers["Retry-After"]
        assert reply.json()["code"] == "enrolment.unavailable"
        assert count(app, tables.registration_grants) == 0
        assert count(app, tables.branches) == 0
    finally:
        dispose_app(app)


def test_an_assigned_coordinator_edits_and_withdraws_the_poster_only_of_their_own_stations(
    registrar, api, token_mint, app
):
    registrar.grant("b-1")
    mine = registrar.register("b-1").json()["id"]
    theirs = api.post(
        "/api/v1/stations", station_body(name="别人的驿站"), headers=registrar.admin, expect=201
    )["id"]
    coordinator = registrar.coordinator

    api.call("PATCH", f"/api/v1/stations/{mine}", json={"name": "改名驿站"}, headers=coordinator)
    assert api.post(f"/api/v1/stations/{mine}/qr/revoke", headers=coordinator)["qr_generation"] == 2
    assert api.send("GET", f"/api/v1/stations/{mine}/qr.png", headers=coordinator).status_code == 200

    # A station this service did not assign them: absent, whatever the token claims, and unchanged.
    claimed = token_mint.headers("staff:coord-1", ["coordinator"], station_ids=[theirs], units=["b-1"])
    for headers in (coordinator, claimed):
        assert (
            api.send("PATCH", f"/api/v1/stations/{theirs}", json={"name": "x"}, headers=headers).status_code
            == 404
        )
        assert api.send("POST", f"/api/v1/stations/{theirs}/qr/revoke", headers=headers).status_code == 404
        assert api.send("GET", f"/api/v1/stations/{theirs}/qr.png", headers=headers).status_code == 404
    untouched = api.get(f"/api/v1/stations/{theirs}/manage", headers=registrar.admin)
    assert (untouched["name"], untouched["qr_generation"]) == ("别人的驿站", 1)

    # Taken off their own station by an admin, they no longer manage it.
    api.call("DELETE", f"/api/v1/stations/{mine}/coordinators/coord-1", headers=registrar.admin, expect=204)
    assert api.send("POST", f"/api/v1/stations/{mine}/qr/revoke", headers=coordinator).status_code == 404
