"""The public finder's query and answer: every refusal names its field in zh-CN and en, whichever way
the query is loaded (plainly or through FinderArgs, services/stations/finder_query.py), an unusual
but valid spelling finds what the plain one does, and an answer carries the public card only. An
open-now search, answered from the open GEO sets, finds what testing every station would, as the
stations change, and on a deployment whose Redis projection an earlier version wrote."""

from __future__ import annotations

import pytest

from services.stations import finder, jobs, keys
from services.stations.model import AMENITIES
from services.stations.schemas import stations as schemas
from tests.support import build_app, dispose_app

PROBLEM = "application/problem+json"
NEAR = "lat=26.56&lng=106.69"
# The field messages, as a courier reads them.
TEXTS = {
    "required": ("This field is required.", "此项为必填项"),
    "geo.latitude": ("Latitude must be a number between -90 and 90.", "纬度须为-90到90之间的数值"),
    "geo.longitude": ("Longitude must be a number between -180 and 180.", "经度须为-180到180之间的数值"),
    "range": ("This value is out of range.", "此项超出允许范围"),
    "invalid_type": ("This value has the wrong type.", "此项的类型不正确"),
    "length": ("This value is too short or too long.", "此项长度不符合要求"),
    "finder.radius_too_large": ("The search radius may be at most 20000 m.", "搜索半径最大为20000米"),
    "station.amenity_unknown": ("Unknown amenity: sauna.", "不认识的设施类型：sauna"),
}


@pytest.mark.parametrize(
    "query, field, code",
    [
        ("lng=106.69", "lat", "required"),
        ("lat=26.56", "lng", "required"),
        ("lat=91&lng=106.69", "lat", "geo.latitude"),
        ("lat=85.06&lng=106.69", "lat", "geo.latitude"),  # beyond what Redis GEO indexes
        ("lat=north&lng=106.69", "lat", "geo.latitude"),
        ("lat=nan&lng=106.69", "lat", "geo.latitude"),
        ("lat=&lng=106.69", "lat", "geo.latitude"),
        ("lat=26.56&lng=-181", "lng", "geo.longitude"),
        ("lat=26.56&lng=1e400", "lng", "geo.longitude"),
        (f"{NEAR}&radius_m=0", "radius_m", "range"),
        (f"{NEAR}&radius_m=5km", "radius_m", "invalid_type"),
        (f"{NEAR}&radius_m=2000.5", "radius_m", "invalid_type"),
        (f"{NEAR}&radius_m=20001", "radius_m", "finder.radius_too_large"),
        (f"{NEAR}&limit=0", "limit", "range"),
        (f"{NEAR}&limit=51", "limit", "range"),
        (f"{NEAR}&open_now=maybe", "open_now", "invalid_type"),
        (f"{NEAR}" + "&amenity=water" * 11, "amenity", "length"),
        (f"{NEAR}&amenity={'x' * 33}", "amenity.0", "length"),
        (f"{NEAR}&amenity=water&amenity=sauna", "amenity", "station.amenity_unknown"),
    ],
)
@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_bad_finder_query_names_the_field_in_the_couriers_language(api, query, field, code, language):
    reply = api.send("GET", f"/api/v1/stations?{query}", headers={"Accept-Language": language})
    assert reply.status_code == 422
    assert reply.headers["Content-Type"].startswith(PROBLEM)
    assert reply.headers["Content-Language"] == language
    errors = reply.json()["errors"]
    assert {(e["field"], e["code"]) for e in errors} == {(field, code)}
    text = TEXTS[code][language == "zh-CN"]
    assert {e["message"] for e in errors} == {text}


def test_an_unusual_but_valid_spelling_finds_what_the_plain_one_does(rig, api):
    near = rig.station(name="近", lat=26.561, amenities=["water", "fridge"])
    rig.station(name="远", lat=26.565, amenities=["water", "fridge"])
    rig.station(name="无冰箱", lat=26.562, amenities=["water"])
    plain = api.get(f"/api/v1/stations?{NEAR}&radius_m=2000&amenity=fridge&open_now=true&limit=1")
    assert [s["id"] for s in plain] == [near]
    unusual = [
        "lat=%2B26.56&lng=106.690&radius_m=%202000&amenity=fridge&open_now=On&limit=01",
        # the first of a repeated parameter counts; one FinderArgs does not know is left out
        "lat=26.56&lat=0&lng=106.69&radius_m=2000&amenity=fridge&open_now=yes&limit=1&extra=1",
    ]
    for query in unusual:
        assert api.get(f"/api/v1/stations?{query}") == plain
    # An integer is written in digits: 2e3 is refused, as FinderArgs always did.
    assert api.send("GET", f"/api/v1/stations?{NEAR}&radius_m=2e3").status_code == 422


def test_the_finder_keeps_its_defaults_and_limit(rig, api):
    ids = [rig.station(name=f"驿站{n}", lat=26.56 + n / 1000) for n in range(3)]
    rig.station(name="六公里外", lat=26.614)  # 6 km north: beyond the default 5 km
    assert [s["id"] for s in api.get(f"/api/v1/stations?{NEAR}")] == ids
    assert [s["id"] for s in api.get(f"/api/v1/stations?{NEAR}&limit=2")] == ids[:2]


def test_the_finder_answers_the_public_card_and_nothing_only_staff_may_see(rig, api):
    station_id = rig.station(lockers=4)
    rig.assign(station_id)
    (found,) = api.get(f"/api/v1/stations?{NEAR}")
    assert set(found) == set(schemas.FoundOut().fields)
    assert set(found["live"]) == set(schemas.LiveOut().fields)
    assert not {"coordinators", "qr_generation", "branch_id", "branch_path", "lockers"} & set(found)
    assert found["id"] == station_id


# Stations due north of NEAR, 78 m apart, so nearest first is the order they are listed in.
ROW = [
    (["water", "fridge"], "24/7"),
    (["fridge"], "24/7 off"),
    (["water"], "24/7"),
    (["fridge", "charging"], "24/7"),
    (["water", "fridge"], "24/7 off"),
    (["fridge"], "24/7"),
    (["charging"], "24/7"),
    (["water", "fridge", "charging"], "24/7"),
    (["fridge"], "24/7"),
    (["water", "fridge"], "24/7"),
]


def seed_row(rig) -> list[tuple[str, list[str], bool]]:
    """The stations of ROW: id, amenities, whether open."""
    return [
        (
            rig.station(name=f"驿站{n}", lat=26.56 + n * 0.0007, amenities=amenities, opening_hours=opening),
            amenities,
            opening == "24/7",
        )
        for n, (amenities, opening) in enumerate(ROW)
    ]


def open_ids(api, amenities: list[str], limit: int = 20) -> list[str]:
    query = "".join(f"&amenity={a}" for a in amenities)
    found = api.get(f"/api/v1/stations?{NEAR}&radius_m=2000&open_now=true&limit={limit}{query}")
    assert all(s["open_now"] for s in found)
    return [s["id"] for s in found]


def expected_open(row, amenities: list[str], limit: int = 20) -> list[str]:
    return [sid for sid, offered, is_open in row if is_open and set(amenities) <= set(offered)][:limit]


@pytest.mark.parametrize("amenities", [[], ["fridge"], ["water", "fridge"], ["charging"], ["toilet"]])
@pytest.mark.parametrize("limit", [3, 20])
def test_an_open_now_search_finds_the_nearest_open_stations_offering_the_amenities(
    rig, api, amenities, limit
):
    row = seed_row(rig)
    assert open_ids(api, amenities, limit) == expected_open(row, amenities, limit)


def test_an_open_now_search_follows_a_stations_changes_of_amenities_and_hours(rig, api, clean_redis):
    row = seed_row(rig)
    first, _, _ = row[0]
    rig.assign(first)

    def change(**details):
        api.call("PATCH", f"/api/v1/stations/{first}", json=details, headers=rig.coordinator)

    change(amenities=["charging"])
    row[0] = (first, ["charging"], True)
    for amenities in (["fridge"], ["water"], ["charging"]):
        assert open_ids(api, amenities) == expected_open(row, amenities)
    change(opening_hours="24/7 off")
    row[0] = (first, ["charging"], False)
    assert open_ids(api, ["charging"]) == expected_open(row, ["charging"])
    assert open_ids(api, []) == expected_open(row, [])
    assert not any(clean_redis.zscore(keys.open_geo(a), first) for a in (None, *AMENITIES))
    change(opening_hours="24/7", lat=26.5599)  # open again, and now the nearest by far
    row[0] = (first, ["charging"], True)
    assert open_ids(api, ["charging"]) == expected_open(row, ["charging"])
    positions = clean_redis.zscore(keys.geo(), first), clean_redis.zscore(keys.open_geo("charging"), first)
    assert positions[0] == positions[1]


def test_a_deployment_upgraded_from_a_projection_without_the_open_geo_sets_still_finds_open_stations(
    app, rig, api, clean_redis
):
    row = seed_row(rig)
    searches = [[], ["fridge"], ["water", "charging"]]
    expected = [expected_open(row, amenities) for amenities in searches]

    def as_the_code_before_left_it():
        clean_redis.delete(keys.projection_version(), keys.open_geo(), *(keys.open_geo(a) for a in AMENITIES))

    # The new code running before anything upgraded the projection: the open stations, not none.
    as_the_code_before_left_it()
    assert [open_ids(api, amenities) for amenities in searches] == expected
    # A web process starting upgrades it.
    restarted = build_app("stations", app.extensions["unionhub"].settings)
    try:
        assert clean_redis.get(keys.projection_version()).decode() == finder.PROJECTION_VERSION
        assert len(clean_redis.zrange(keys.open_geo(), 0, -1)) == sum(is_open for _, _, is_open in row)
        assert [open_ids(api, amenities) for amenities in searches] == expected
    finally:
        dispose_app(restarted)
    # So does the worker's job, e.g. after Redis lost its data and was filled again.
    as_the_code_before_left_it()
    (job,) = [job for job in jobs.JOBS if job.name == "upgrade_finder"]
    assert job.run(None, None, clean_redis) == sum(is_open for _, _, is_open in row)
    assert job.run(None, None, clean_redis) == 0
    assert [open_ids(api, amenities) for amenities in searches] == expected
