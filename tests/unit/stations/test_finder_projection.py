"""The finder's Redis projection against the tests' Redis: the open GEO sets hold exactly the stations
whose hours say open (of each amenity), at their positions, through indexing, opening and closing,
changes and removal; an open-now search on them answers what testing every station found would;
and a projection written before them is searched the old way until ``upgrade`` builds them."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pytest

from services.common.clock import SHANGHAI
from services.stations import finder, hours, keys
from services.stations.model import AMENITIES, Station

AT = datetime(2026, 10, 14, 12, 0, tzinfo=SHANGHAI)  # a Wednesday, noon
HOURS = ("24/7", "24/7 off", "Mo-Fr 08:00-20:00", "Mo-Su 13:00-22:00", "Sa,Su 09:00-18:00")
# Around 贵阳: about 11 km by 10 km.
SOUTH, WEST, SPAN = 26.52, 106.64, 0.1


def station(station_id: str, lat: float, lng: float, amenities, opening_hours: str = "24/7") -> Station:
    return Station(
        id=station_id,
        name=f"驿站{station_id}",
        address="贵阳市",
        lat=lat,
        lng=lng,
        branch_id="b-1",
        branch_path=("root", "b-1"),
        amenities=sorted(amenities),
        opening_hours=opening_hours,
        lockers=0,
        qr_generation=1,
    )


def seeded(rng: random.Random, count: int) -> list[Station]:
    return [
        station(
            f"s{n}",
            SOUTH + rng.random() * SPAN,
            WEST + rng.random() * SPAN,
            rng.sample(AMENITIES, rng.randint(0, 4)),
            rng.choice(HOURS),
        )
        for n in range(count)
    ]


def is_open(s: Station, at: datetime) -> bool:
    return hours.state(hours.parse(s.opening_hours), at).open


def members(client, key: str) -> dict[str, float]:
    return {m.decode(): score for m, score in client.zrange(key, 0, -1, withscores=True)}


def assert_exact(client, stations: list[Station], at: datetime) -> None:
    """Each open GEO set holds exactly the stations open at ``at`` (offering its amenity), each at the
    position the GEO set of all stations holds."""
    positions = members(client, keys.geo())
    assert set(positions) == {s.id for s in stations}
    open_ones = [s for s in stations if is_open(s, at)]
    assert {m.decode() for m in client.smembers(keys.open_now())} == {s.id for s in open_ones}
    assert members(client, keys.open_geo()) == {s.id: positions[s.id] for s in open_ones}
    for amenity in AMENITIES:
        offering = {s.id: positions[s.id] for s in open_ones if amenity in s.amenities}
        assert members(client, keys.open_geo(amenity)) == offering, amenity


@pytest.fixture
def client(clean_redis):
    finder.upgrade(clean_redis)  # a new deployment's projection: current, and empty
    return clean_redis


def test_indexing_puts_each_open_station_in_the_open_geo_sets_of_its_amenities(client):
    stations = seeded(random.Random(7), 60)
    for s in stations:
        finder.index(client, s, AT)
    assert 0 < len(members(client, keys.open_geo())) < len(stations)
    assert_exact(client, stations, AT)


def test_opening_and_closing_move_a_station_in_and_out_of_the_open_geo_sets(client):
    day = station("day", 26.56, 106.69, ["water", "fridge"], "Mo-Su 08:00-20:00")
    always = station("always", 26.57, 106.69, ["water"], "24/7")
    dawn = AT.replace(hour=7)
    for s in (day, always):
        finder.index(client, s, dawn)
    assert_exact(client, [day, always], dawn)
    assert "day" not in members(client, keys.open_geo("water"))

    opened = AT.replace(hour=8, minute=0, second=30)
    assert finder.refresh_due(client, opened) == 1
    assert_exact(client, [day, always], opened)
    assert set(members(client, keys.open_geo("fridge"))) == {"day"}

    closed = AT.replace(hour=20, minute=0, second=30)
    assert finder.refresh_due(client, closed) == 1
    assert_exact(client, [day, always], closed)
    assert members(client, keys.open_geo("fridge")) == {}


def test_a_changed_station_moves_with_its_position_and_amenities(client):
    before = station("s", 26.56, 106.69, ["water", "fridge"])
    other = station("o", 26.57, 106.70, ["fridge"])
    for s in (before, other):
        finder.index(client, s, AT)
    moved = station("s", 26.60, 106.72, ["water", "charging"])
    finder.index(client, moved, AT)
    assert_exact(client, [moved, other], AT)
    assert set(members(client, keys.open_geo("fridge"))) == {"o"}
    closed = station("s", 26.60, 106.72, ["water", "charging"], "24/7 off")
    finder.index(client, closed, AT)
    assert_exact(client, [closed, other], AT)
    assert "s" not in members(client, keys.open_geo("water"))


def test_a_station_whose_card_is_gone_is_taken_out_of_every_set(client):
    gone = station("gone", 26.56, 106.69, ["water", "fridge"])
    kept = station("kept", 26.57, 106.69, ["water", "fridge"])
    for s in (gone, kept):
        finder.index(client, s, AT)
    client.delete(keys.card("gone"))
    client.zadd(keys.transitions(), {"gone": 1})  # its transition is due
    assert finder.refresh_due(client, AT) == 1
    assert_exact(client, [kept], AT)
    assert all(not client.sismember(keys.amenity(a), "gone") for a in AMENITIES)
    assert client.zscore(keys.transitions(), "gone") is None
    found = json.loads(finder.search(client, finder.Search(26.56, 106.69, 5000, ("water",), True), AT))
    assert [s["id"] for s in found] == ["kept"]


def brute_force(client, stations: dict[str, Station], query: finder.Search, at: datetime) -> list:
    """The answer by testing every station in the radius against the seeded stations themselves,
    with Redis's own distances."""
    answer = []
    for raw_id, distance in client.geosearch(
        keys.geo(), longitude=query.lng, latitude=query.lat, radius=query.radius_m, unit="m",
        sort="ASC", withdist=True,
    ):  # fmt: skip
        s = stations[raw_id.decode()]
        open_now = is_open(s, at)
        if set(query.amenities) <= set(s.amenities) and (open_now or not query.open_now):
            answer.append((s.id, round(distance), open_now))
    return answer[: query.limit]


def answered(client, query: finder.Search, at: datetime) -> list:
    return [(s["id"], s["distance_m"], s["open_now"]) for s in json.loads(finder.search(client, query, at))]


def test_an_open_now_search_answers_what_testing_every_station_would(client):
    rng = random.Random(11)
    stations = {s.id: s for s in seeded(rng, 400)}
    for s in stations.values():
        finder.index(client, s, AT)
    found = 0
    for _ in range(300):
        query = finder.Search(
            lat=SOUTH + rng.random() * SPAN,
            lng=WEST + rng.random() * SPAN,
            radius_m=rng.randint(300, 5000),
            amenities=tuple(rng.sample(AMENITIES, rng.choice((0, 1, 1, 1, 2)))),
            open_now=rng.random() < 0.8,
            limit=rng.randint(1, 30),
        )
        expected = brute_force(client, stations, query, AT)
        assert answered(client, query, AT) == expected, query
        found += len(expected)
    assert found > 1000  # the queries find stations, not only empty answers


def test_a_projection_written_before_the_open_geo_sets_is_searched_the_old_way_until_upgraded(client):
    rng = random.Random(3)
    stations = {s.id: s for s in seeded(rng, 200)}
    for s in stations.values():
        finder.index(client, s, AT)
    # What the code before this version left in Redis: no open GEO sets, no version.
    client.delete(keys.projection_version(), keys.open_geo(), *(keys.open_geo(a) for a in AMENITIES))
    queries = [
        finder.Search(26.57, 106.69, 5000, amenities, open_now=True)
        for amenities in ((), ("water",), ("fridge", "charging"))
    ]
    expected = [brute_force(client, stations, q, AT) for q in queries]
    assert all(expected)
    assert [answered(client, q, AT) for q in queries] == expected

    assert finder.upgrade(client) == sum(is_open(s, AT) for s in stations.values())
    assert client.get(keys.projection_version()).decode() == finder.PROJECTION_VERSION
    assert_exact(client, list(stations.values()), AT)
    assert [answered(client, q, AT) for q in queries] == expected
    assert finder.upgrade(client) == 0  # current: nothing to do


def test_an_open_now_search_reads_the_open_geo_sets_only_on_a_current_projection(client):
    s = station("s", 26.56, 106.69, ["water"])
    finder.index(client, s, AT)
    query = finder.Search(26.56, 106.69, 1000, ("water",), open_now=True)
    client.zrem(keys.open_geo("water"), "s")
    assert answered(client, query, AT) == []  # current: the open GEO set is the answer
    client.delete(keys.projection_version())
    assert [hit[0] for hit in answered(client, query, AT)] == ["s"]  # earlier: every station is tested


def test_a_search_refreshes_overdue_hours_before_it_reads_the_open_geo_sets(client):
    s = station("s", 26.56, 106.69, ["water"], "Mo-Su 08:00-20:00")
    finder.index(client, s, AT.replace(hour=7))  # closed, opening at 08:00
    later = AT.replace(hour=8) + timedelta(minutes=5)
    query = finder.Search(26.56, 106.69, 1000, ("water",), open_now=True)
    assert [hit[0] for hit in answered(client, query, later)] == ["s"]
    assert_exact(client, [s], later)
