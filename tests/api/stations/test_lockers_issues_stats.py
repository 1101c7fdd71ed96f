"""Lockers, facility problem reports, visits and stats."""

from __future__ import annotations

import redis
from sqlalchemy import select

from schemas.events import stations as ev
from services.stations import tables

from .conftest import join, outbox_types


def test_a_deposit_gives_a_pickup_code_that_frees_the_locker_once(rig, api, app):
    station_id = rig.station(lockers=1)
    join(app, "m-1")
    courier = rig.mint.member("m-1")
    deposit = api.post(f"/api/v1/stations/{station_id}/lockers/deposits", {}, headers=courier, expect=201)
    assert deposit["locker_no"] == 1 and len(deposit["pickup_code"]) == 6
    full = api.send("POST", f"/api/v1/stations/{station_id}/lockers/deposits", json={}, headers=courier)
    assert full.status_code == 409 and full.json()["code"] == "locker.full"
    picked = api.post(
        f"/api/v1/stations/{station_id}/lockers/pickups",
        {"pickup_code": deposit["pickup_code"]},
        headers=courier,
    )
    assert picked["locker_no"] == 1
    again = api.send(
        "POST",
        f"/api/v1/stations/{station_id}/lockers/pickups",
        json={"pickup_code": deposit["pickup_code"]},
        headers=courier,
    )
    assert again.status_code == 404 and again.json()["code"] == "locker.code_invalid"
    assert outbox_types(app) == [ev.LOCKER_DEPOSITED, ev.LOCKER_COLLECTED]


def test_a_retried_deposit_with_the_same_idempotency_key_gets_the_same_locker(rig, api, app):
    station_id = rig.station(lockers=3)
    join(app, "m-1")
    headers = {**rig.mint.member("m-1"), "Idempotency-Key": "k-1"}
    first = api.post(f"/api/v1/stations/{station_id}/lockers/deposits", {}, headers=headers, expect=201)
    second = api.post(f"/api/v1/stations/{station_id}/lockers/deposits", {}, headers=headers, expect=201)
    assert first == second
    assert outbox_types(app) == [ev.LOCKER_DEPOSITED]
    # The stored answer keeps the code sealed: whoever reads the table cannot open the locker.
    with app.extensions["unionhub"].db.engine.connect() as conn:
        (stored,) = conn.execute(select(tables.idempotency_keys.c.body)).scalars()
    assert first["pickup_code"] not in stored


def test_items_left_at_closing_are_flagged_for_the_coordinator(rig, api, app):
    station_id = rig.station(lockers=2)
    rig.assign(station_id)
    rig.group(station_id, "m-1")
    rig.rota(station_id)
    join(app, "m-2")
    api.post(
        f"/api/v1/stations/{station_id}/lockers/deposits",
        {"locker_no": 2},
        headers=rig.mint.member("m-2"),
        expect=201,
    )
    shift_id = rig.checkin(station_id, "m-1")["shift_id"]
    assert api.get(f"/api/v1/stations/{station_id}/lockers/left-behind", headers=rig.coordinator) == []
    api.post(f"/api/v1/shifts/{shift_id}/checkout", headers=rig.mint.member("m-1"))
    left = api.get(f"/api/v1/stations/{station_id}/lockers/left-behind", headers=rig.coordinator)
    assert [item["locker_no"] for item in left] == [2]


def test_a_courier_reports_a_problem_and_the_coordinator_resolves_it(rig, api, app):
    station_id = rig.station()
    rig.assign(station_id)
    join(app, "m-1")
    issue_id = api.post(
        f"/api/v1/stations/{station_id}/issues",
        {"category": "water", "note": "饮水机不出水"},
        headers=rig.mint.member("m-1"),
        expect=201,
    )["id"]
    assert outbox_types(app) == [ev.ISSUE_REPORTED]
    listed = api.get(f"/api/v1/stations/{station_id}/issues?status=open", headers=rig.coordinator)
    assert [i["id"] for i in listed] == [issue_id]
    api.post(
        f"/api/v1/stations/{station_id}/issues/{issue_id}/resolve",
        {"resolution": "换了滤芯"},
        headers=rig.coordinator,
        expect=204,
    )
    assert api.get(f"/api/v1/stations/{station_id}/issues?status=open", headers=rig.coordinator) == []
    again = api.send(
        "POST", f"/api/v1/stations/{station_id}/issues/{issue_id}/resolve", json={}, headers=rig.coordinator
    )
    assert again.status_code == 409
    # Another coordinator, not assigned here, sees nothing.
    other = rig.mint.staff("coord-2", "coordinator")
    assert api.send("GET", f"/api/v1/stations/{station_id}/issues", headers=other).status_code == 404


def test_stats_count_visits_coverage_and_open_hours(rig, api, app):
    station_id = rig.station()
    rig.assign(station_id)
    rig.group(station_id, "m-1")
    rig.rota(station_id)
    join(app, "m-2", "m-3")
    for courier in ("m-2", "m-3", "m-2"):
        api.post(
            "/api/v1/stations/visits",
            {"station_code": rig.code(station_id)},
            headers=rig.mint.member(courier),
            expect=201,
        )
    shift_id = rig.checkin(station_id, "m-1")["shift_id"]
    api.post(f"/api/v1/shifts/{shift_id}/checkout", headers=rig.mint.member("m-1"))
    stats = api.get(f"/api/v1/stations/{station_id}/stats", headers=rig.coordinator)
    assert stats["visits"] == 2
    today = stats["days"][-1]
    assert today["visits"] == 2
    assert stats["open_hours"] >= 0


def test_a_stats_range_beyond_the_years_is_refused_by_field_not_a_500(api, rig):
    station_id = rig.station()
    rig.assign(station_id)

    far = api.call(
        "GET",
        f"/api/v1/stations/{station_id}/stats?from=9999-12-31&to=9999-12-31",
        headers=rig.coordinator,
        expect=422,
    )

    assert {(e["field"], e["code"]) for e in far["errors"]} == {
        ("from", "date.out_of_range"),
        ("to", "date.out_of_range"),
    }


def _pickup(api, station_id: str, courier: dict, code: str):
    return api.send(
        "POST", f"/api/v1/stations/{station_id}/lockers/pickups", json={"pickup_code": code}, headers=courier
    )


def test_a_pickup_code_of_other_than_six_ascii_digits_is_refused_by_field(rig, api, app):
    station_id = rig.station()
    join(app, "m-1")
    courier = rig.mint.member("m-1")
    deposit = api.post(f"/api/v1/stations/{station_id}/lockers/deposits", {}, headers=courier, expect=201)
    for code in (deposit["pickup_code"] + "\n", "１２３４５６"):
        refused = _pickup(api, station_id, courier, code)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "pickup_code"
    assert outbox_types(app) == [ev.LOCKER_DEPOSITED]


def test_a_courier_tries_only_so_many_pickup_codes_a_day_across_stations(rig, api, app):
    stations = [rig.station(name=f"驿站{i}") for i in range(4)]
    join(app, "m-1", "m-2")
    owner, guesser = rig.mint.member("m-1"), rig.mint.member("m-2")
    deposit = api.post(f"/api/v1/stations/{stations[3]}/lockers/deposits", {}, headers=owner, expect=201)
    wrong = f"{(int(deposit['pickup_code']) + 1) % 10**6:06d}"
    for station_id in stations[:3]:  # each station's own limit allows 10
        assert {_pickup(api, station_id, guesser, wrong).status_code for _ in range(10)} == {404}

    refused = _pickup(api, stations[3], guesser, deposit["pickup_code"])

    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert _pickup(api, stations[3], owner, deposit["pickup_code"]).status_code == 200
    assert outbox_types(app).count(ev.LOCKER_COLLECTED) == 1


def _on_shift(rig, **station) -> str:
    """A station with volunteer m-1 checked in, depositing and collecting for couriers on the duty
    page under their own login."""
    station_id = rig.station(**station)
    rig.assign(station_id)
    rig.group(station_id, "m-1")
    rig.rota(station_id)
    rig.checkin(station_id, "m-1")
    return station_id


def test_a_courier_holds_only_so_many_lockers_and_the_volunteer_on_shift_any(rig, api, app):
    station_id = _on_shift(rig, lockers=8)
    join(app, "m-2")
    courier, volunteer = rig.mint.member("m-2"), rig.mint.member("m-1")
    path = f"/api/v1/stations/{station_id}/lockers/deposits"
    held = [api.post(path, {}, headers=courier, expect=201) for _ in range(3)]

    refused = api.send("POST", path, json={}, headers=courier)

    assert (refused.status_code, refused.json()["code"]) == (409, "locker.courier_limit")
    assert {api.send("POST", path, json={}, headers=volunteer).status_code for _ in range(5)} == {201}
    assert _pickup(api, station_id, courier, held[0]["pickup_code"]).status_code == 200
    assert api.send("POST", path, json={}, headers=courier).status_code == 201  # one freed


def test_right_codes_do_not_use_up_the_limits_so_a_volunteer_collects_all_day(rig, api, app):
    station_id = _on_shift(rig, lockers=20)
    volunteer = rig.mint.member("m-1")
    deposits = [
        api.post(f"/api/v1/stations/{station_id}/lockers/deposits", {}, headers=volunteer, expect=201)
        for _ in range(15)
    ]

    assert {_pickup(api, station_id, volunteer, d["pickup_code"]).status_code for d in deposits} == {200}
    # The wrong ones still count: ten at this station, then refused.
    wrong = f"{(int(deposits[0]['pickup_code']) + 1) % 10**6:06d}"
    assert [_pickup(api, station_id, volunteer, wrong).status_code for _ in range(11)] == [404] * 10 + [429]


def test_with_redis_down_a_pickup_is_refused_with_503_and_the_locker_stays_shut(rig, api, app, monkeypatch):
    station_id = rig.station()
    join(app, "m-1")
    courier = rig.mint.member("m-1")
    deposit = api.post(f"/api/v1/stations/{station_id}/lockers/deposits", {}, headers=courier, expect=201)

    def down(*_args, **_kwargs):
        raise redis.ConnectionError("Redis went away")

    with monkeypatch.context() as patch:
        patch.setattr(redis.client.Pipeline, "execute", down)
        refused = _pickup(api, station_id, courier, deposit["pickup_code"])

    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0
    assert outbox_types(app) == [ev.LOCKER_DEPOSITED]
    assert _pickup(api, station_id, courier, deposit["pickup_code"]).status_code == 200
