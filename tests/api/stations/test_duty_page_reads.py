"""The reads the duty page and the admin console make: the volunteer's open shift, the stations a
caller runs."""

from __future__ import annotations

from .test_duty import on_duty


def test_the_open_shift_comes_back_with_its_station_and_log_until_checkout(rig, api):
    station_id, _ = on_duty(rig, "m-1")
    member = rig.mint.member("m-1")
    assert api.send("GET", "/api/v1/shifts/me", headers=member).status_code == 404

    shift_id = rig.checkin(station_id, "m-1")["shift_id"]
    api.post(f"/api/v1/shifts/{shift_id}/log", {"kind": "lights", "value": "on"}, headers=member, expect=201)
    mine = api.get("/api/v1/shifts/me", headers=member)

    assert (mine["shift_id"], mine["station_id"], mine["lockers"]) == (shift_id, station_id, 4)
    assert [(e["kind"], e["value"]) for e in mine["log"]] == [("lights", "on")]
    api.post(f"/api/v1/shifts/{shift_id}/checkout", headers=member)
    gone = api.send("GET", "/api/v1/shifts/me", headers=member)
    assert (gone.status_code, gone.json()["code"]) == (404, "shift.none_open")


def test_another_volunteer_does_not_see_the_shift(rig, api):
    station_id, _ = on_duty(rig, "m-1", "m-2")
    rig.checkin(station_id, "m-1")

    assert api.send("GET", "/api/v1/shifts/me", headers=rig.mint.member("m-2")).status_code == 404


def test_managed_stations_are_the_admins_subtree_and_the_coordinators_assignments(rig, api):
    assigned = rig.station(name="指派驿站")
    rig.assign(assigned)
    unassigned = rig.station(name="另一驿站")

    by_admin = {s["id"] for s in api.get("/api/v1/stations/managed", headers=rig.admin)}
    by_coordinator = {s["id"] for s in api.get("/api/v1/stations/managed", headers=rig.coordinator)}
    by_stranger = api.get("/api/v1/stations/managed", headers=rig.mint.admin("elsewhere"))

    assert {assigned, unassigned} <= by_admin
    assert assigned in by_coordinator and unassigned not in by_coordinator
    assert by_stranger == []
