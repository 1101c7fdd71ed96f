"""Registering stations, their coordinators, posters and the public finder."""

from __future__ import annotations

import pytest

from .conftest import outbox_types, qr_text, station_body

PROBLEM = "application/problem+json"


def test_an_admin_registers_a_station_and_it_is_found_nearby_with_its_distance(rig, api):
    station_id = rig.station()
    found = api.get("/api/v1/stations?lat=26.5600&lng=106.7000&radius_m=2000")
    assert [s["id"] for s in found] == [station_id]
    # 0.01° of longitude at 26.56° N is 995 m (haversine), which Redis GEO reports within a metre.
    assert abs(found[0]["distance_m"] - 995) <= 2
    assert found[0]["live"]["status"] == "closed"
    assert found[0]["open_now"] is True


def test_the_finder_orders_by_known_distances_and_respects_the_radius(rig, api):
    # 花果园 (26.5600, 106.6900) to 喷水池 (26.5783, 106.7135) is 3,099 m on the sphere; 遵义 is 130 km off.
    near = rig.station(name="喷水池驿站", lat=26.5783, lng=106.7135)
    nearer = rig.station(name="花果园驿站", lat=26.5600, lng=106.6900)
    rig.station(name="遵义驿站", lat=27.7254, lng=106.9272)
    found = api.get("/api/v1/stations?lat=26.5600&lng=106.6900&radius_m=5000")
    assert [s["id"] for s in found] == [nearer, near]
    assert found[0]["distance_m"] == 0
    assert abs(found[1]["distance_m"] - 3099) <= 3


def test_the_finder_filters_by_amenity_and_open_now(rig, api):
    with_fridge = rig.station(amenities=["water", "fridge"], lat=26.561)
    rig.station(amenities=["water"], lat=26.562)
    closed = rig.station(amenities=["fridge"], opening_hours="24/7 off", lat=26.563)
    fridge = api.get("/api/v1/stations?lat=26.56&lng=106.69&radius_m=5000&amenity=fridge")
    assert {s["id"] for s in fridge} == {with_fridge, closed}
    both = api.get("/api/v1/stations?lat=26.56&lng=106.69&radius_m=5000&amenity=fridge&open_now=true")
    assert [s["id"] for s in both] == [with_fridge]


@pytest.mark.parametrize(
    "query, field",
    [
        ("lat=91&lng=106.69", "lat"),
        ("lat=26.5&lng=-181", "lng"),
        ("lat=26.5&lng=106.69&radius_m=20001", "radius_m"),
        ("lat=26.5&lng=106.69&amenity=sauna", "amenity"),
        ("lat=26.5&lng=106.69&radius_m=0", "radius_m"),
    ],
)
def test_the_finder_refuses_bad_input_with_the_field_at_fault(api, query, field):
    reply = api.send("GET", f"/api/v1/stations?{query}")
    assert reply.status_code == 422
    assert reply.headers["Content-Type"].startswith(PROBLEM)
    assert field in [e["field"] for e in reply.json()["errors"]]


def test_malformed_opening_hours_are_refused_with_the_position_of_the_error(rig, api, app):
    reply = api.send(
        "POST",
        "/api/v1/stations",
        json=station_body(opening_hours="Mo-Fr 08:00-25:6x"),
        headers={**rig.admin, "Accept-Language": "en"},
    )
    assert reply.status_code == 422
    problem = reply.json()
    assert problem["code"] == "opening_hours.syntax"
    assert (problem["line"], problem["column"]) == (1, 16)
    error = problem["errors"][0]
    assert error["field"] == "opening_hours"
    assert "line 1, column 16" in error["message"]
    assert api.get("/api/v1/stations?lat=26.56&lng=106.69") == []
    assert outbox_types(app) == []


def test_an_unknown_amenity_is_refused_on_registration(rig, api):
    reply = api.send(
        "POST", "/api/v1/stations", json=station_body(amenities=["water", "sauna"]), headers=rig.admin
    )
    assert reply.status_code == 422
    assert reply.json()["code"] == "station.amenity_unknown"
    assert reply.json()["errors"][0]["field"] == "amenities"


def test_an_admin_cannot_register_a_station_for_a_branch_outside_their_subtree(api, token_mint):
    reply = api.send(
        "POST", "/api/v1/stations", json=station_body(branch_id="b-2"), headers=token_mint.admin("city-1")
    )
    assert reply.status_code == 404
    assert reply.json()["code"] == "branch.not_found"


def test_members_and_coordinators_without_a_grant_cannot_register_stations(api, token_mint):
    for headers in (token_mint.member("m-1"), token_mint.staff("coord-1", "coordinator")):
        assert api.send("POST", "/api/v1/stations", json=station_body(), headers=headers).status_code == 403


def test_a_coordinator_manages_only_the_stations_assigned_to_them(rig, api, token_mint):
    mine = rig.station()
    other = rig.station(name="另一个")
    rig.assign(mine)
    assert api.get(f"/api/v1/stations/{mine}/manage", headers=rig.coordinator)["coordinators"] == ["coord-1"]
    assert api.send("GET", f"/api/v1/stations/{other}/manage", headers=rig.coordinator).status_code == 404
    # A station id in the token grants nothing: only this service's assignment does.
    claimed = token_mint.headers("staff:coord-2", ["coordinator"], station_ids=[other])
    assert api.send("GET", f"/api/v1/stations/{other}/qr.png", headers=claimed).status_code == 404


def test_an_admin_of_another_subtree_does_not_see_the_station(rig, api, token_mint):
    station_id = rig.station()
    assert (
        api.send(
            "GET", f"/api/v1/stations/{station_id}/manage", headers=token_mint.admin("city-2")
        ).status_code
        == 404
    )


def test_a_coordinator_who_is_an_admin_elsewhere_does_not_choose_the_stations_coordinators(
    rig, api, token_mint
):
    station_id = rig.station()
    rig.assign(station_id, "mixed")
    # One login: coordinator of this city-1 station, admin of city-2 only.
    mixed = token_mint.headers("staff:mixed", ["admin", "coordinator"], units=["city-2"])
    assert api.get(f"/api/v1/stations/{station_id}/manage", headers=mixed)["coordinators"] == ["mixed"]

    added = api.send(
        "POST", f"/api/v1/stations/{station_id}/coordinators", json={"staff_id": "x"}, headers=mixed
    )
    removed = api.send("DELETE", f"/api/v1/stations/{station_id}/coordinators/mixed", headers=mixed)

    assert (added.status_code, removed.status_code) == (404, 404)
    assert api.get(f"/api/v1/stations/{station_id}/manage", headers=rig.admin)["coordinators"] == ["mixed"]


@pytest.mark.parametrize("scale", ["abc", "1", "41", "99999", "8.5"])
def test_a_poster_scale_that_is_no_whole_number_from_2_to_40_is_refused_by_field(rig, api, scale):
    station_id = rig.station()
    reply = api.send("GET", f"/api/v1/stations/{station_id}/qr.png?scale={scale}", headers=rig.admin)
    assert reply.status_code == 422 and [e["field"] for e in reply.json()["errors"]] == ["scale"]
    sized = api.send("GET", f"/api/v1/stations/{station_id}/qr.png?scale=4", headers=rig.admin)
    assert sized.status_code == 200 and sized.headers["Content-Type"] == "image/png"


def test_the_poster_is_a_real_qr_of_the_signed_station_code_and_revoking_changes_it(rig, api):
    station_id = rig.station()
    rig.assign(station_id)
    reply = api.send("GET", f"/api/v1/stations/{station_id}/qr.png", headers=rig.coordinator)
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "image/png"
    first = qr_text(reply.content)
    assert first == rig.code(station_id)
    api.post(f"/api/v1/stations/{station_id}/qr/revoke", headers=rig.coordinator)
    second = qr_text(api.send("GET", f"/api/v1/stations/{station_id}/qr.png", headers=rig.admin).content)
    assert second != first and second == rig.code(station_id)


def test_a_station_shows_its_live_status_publicly(rig, api):
    station_id = rig.station()
    shown = api.get(f"/api/v1/stations/{station_id}")
    assert shown["live"] == {"status": "closed", "on_duty_group": None, "updated_at": None}
    assert "coordinators" not in shown


def test_changing_opening_hours_updates_open_now_in_the_finder(rig, api):
    station_id = rig.station()
    rig.assign(station_id)
    api.call(
        "PATCH", f"/api/v1/stations/{station_id}", json={"opening_hours": "24/7 off"}, headers=rig.coordinator
    )
    assert api.get("/api/v1/stations?lat=26.56&lng=106.69&open_now=true") == []


def test_a_station_whose_hours_changed_state_is_refreshed_by_the_next_finder_request(rig, api, clean_redis):
    from services.stations import keys

    station_id = rig.station(opening_hours="24/7")
    # As if the stored state were stale (closed) with its transition time past and no job had looked
    # yet: the request must re-evaluate the hours (24/7: open) before it filters.
    clean_redis.zadd(keys.transitions(), {station_id: 1})
    clean_redis.srem(keys.open_now(), station_id)

    found = api.get("/api/v1/stations?lat=26.56&lng=106.69&open_now=true")

    assert [s["id"] for s in found] == [station_id]  # re-evaluated: 24/7 is open
    assert clean_redis.zscore(keys.transitions(), station_id) > 1
