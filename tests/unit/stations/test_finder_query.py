"""The finder's plain query loader against FinderArgs itself: whatever it takes, it loads to exactly
what the schema loads; what it leaves (None) the schema answers, errors included."""

from __future__ import annotations

import random

import pytest
from marshmallow import Schema, ValidationError, fields
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import MultiDict

from schemas.fields import Latitude
from services.stations.finder_query import compile_query
from services.stations.schemas import stations as schemas

FINDER_ARGS = schemas.FinderArgs()
plain = compile_query(FINDER_ARGS)


def by_schema(args: MultiDict):
    """What webargs hands the view (or the field errors it answers 422 with)."""
    try:
        return FINDER_ARGS.load(MultiDictProxy(args, FINDER_ARGS))
    except ValidationError as error:
        return error.messages


ODD_NUMBERS = [
    "", " ", "+26.5", " 26.5", "26.5 ", "26.", ".5", "-0", "0", "00026.5", "1e1", "1E-3", "nan", "-inf",
    "Infinity", "0x1A", "1_000", "٢٦", "２６", "26,5", "91", "-90.0001", "85.05112878", "85.05112879",
    "-85.05112878", "180", "180.0000001", "-181", "5000", "20001", "05000", "5000.0", "-1", "50", "51",
    "9" * 16, "1." + "0" * 16, "9" * 400,
]  # fmt: skip
BOOLEANS = ["true", "false", "True", "FALSE", "1", "0", "on", "Off", "yes", "N", "t", "", "2", "truthy"]
AMENITIES = ["water", "charging", "fridge", "toilet", "sauna", "", "x" * 32, "x" * 33, " water", "水"]

TEXT = "0123456789.-+e xéá"
# A likely value of each parameter, just inside or outside its bounds.
LIKELY = {
    "lat": lambda rng: f"{rng.uniform(-86, 86):.{rng.randint(0, 8)}f}",
    "lng": lambda rng: f"{rng.uniform(-181, 181):.{rng.randint(0, 8)}f}",
    "radius_m": lambda rng: str(rng.randint(-1, 25_000)),
    "limit": lambda rng: str(rng.randint(-1, 55)),
}


def odd_number(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(ODD_NUMBERS)
    return "".join(rng.choices(TEXT, k=rng.randint(0, 8)))


def query(rng: random.Random) -> MultiDict:
    """Each parameter absent, once, or (where not a list, the first counts) twice, mostly likely
    values; amenities 0–12 times; now and then a parameter FinderArgs does not know (it excludes
    those)."""
    pairs = []
    for key, likely in LIKELY.items():
        count = rng.choice([0, 1, 1, 1, 1, 1, 2])
        pairs += [(key, likely(rng) if rng.random() < 0.85 else odd_number(rng)) for _ in range(count)]
    pairs += [("open_now", rng.choice(BOOLEANS)) for _ in range(rng.choice([0, 1, 1, 2]))]
    pairs += [("amenity", rng.choice(AMENITIES)) for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 12]))]
    if rng.random() < 0.2:
        pairs.append(("unknown", odd_number(rng)))
    rng.shuffle(pairs)
    return MultiDict(pairs)


def test_what_the_plain_loader_takes_it_loads_as_the_schema_does():
    rng, taken = random.Random(11), 0
    for _ in range(20_000):
        args = query(rng)
        loaded = plain(args)
        if loaded is not None:
            taken += 1
            expected = by_schema(args)
            assert loaded == expected, args
            assert [type(v) for v in loaded.values()] == [type(v) for v in expected.values()], args
    assert taken > 1000  # the corpus reaches the plain path often, not only the schema's


@pytest.mark.parametrize(
    "query",
    [
        [("lat", "26.64700"), ("lng", "106.63000"), ("radius_m", "5000"), ("amenity", "water"),
         ("open_now", "true"), ("limit", "20")],
        [("lat", "26.56"), ("lng", "106.69")],
        [("lat", "-85"), ("lng", "-180"), ("amenity", "water"), ("amenity", "fridge"), ("open_now", "0")],
        [("lat", "26"), ("lng", "106.7"), ("radius_m", "1"), ("limit", "50"), ("open_now", "on")],
    ],
)  # fmt: skip
def test_a_plainly_valid_query_is_loaded_without_the_schema(query):
    args = MultiDict(query)
    assert plain(args) is not None
    assert plain(args) == by_schema(args)


@pytest.mark.parametrize(
    "query",
    [
        [("lng", "106.69")],  # lat is required
        [("lat", "91"), ("lng", "106.69")],
        [("lat", "85.06"), ("lng", "106.69")],  # beyond what Redis GEO indexes
        [("lat", "26.5"), ("lng", "106.69"), ("radius_m", "0")],
        [("lat", "26.5"), ("lng", "106.69"), ("limit", "51")],
        [("lat", "26.5"), ("lng", "106.69"), ("open_now", "maybe")],
        [("lat", "26.5"), ("lng", "106.69"), *[("amenity", "water")] * 11],
        [("lat", "26.5"), ("lng", "106.69"), ("amenity", "x" * 33)],
        [("lat", "+26.5"), ("lng", "106.69")],  # valid, but only the schema says so
    ],
)
def test_anything_else_is_left_to_the_schema(query):
    assert plain(MultiDict(query)) is None


def test_a_field_it_cannot_load_plainly_is_refused_when_compiled():
    class Dated(Schema):
        day = fields.Date()

    class Strict(Schema):
        count = fields.Integer(strict=True)

    class Bounded(Schema):
        lat = Latitude()  # a kind it knows, for contrast

    for schema in (Dated(), Strict()):
        with pytest.raises(TypeError):
            compile_query(schema)
    assert compile_query(Bounded())(MultiDict([("lat", "26.5")])) == {"lat": 26.5}
