"""``unionhub seed``'s demo stations: registered through the stations use case against the stand-in
enrolment, found by the public finder, and registered once."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from services.stations import seed, tables
from services.stations.model import AMENITIES
from tests.api.stations.conftest import BRANCHES as PATHS

DOMAIN = json.loads(seed.DEFAULT_DOMAIN.read_text(encoding="utf-8"))
# Enrolment's units by name, as GET /api/v1/branches lists them, placed in the stand-in's tree.
BRANCHES = {
    "贵阳市快递行业工会联合会": {"id": "b-1", "path": PATHS["b-1"]},
    "遵义市总工会": {"id": "b-2", "path": PATHS["b-2"]},
}


@pytest.fixture
def load(app, token_mint):
    token = token_mint.issuer.issue("staff:admin", ["admin"], units=["root"])[0]
    ctx = app.extensions["unionhub"]

    def run() -> int:
        units = app.extensions["stations"].units
        return seed.load(ctx.db, ctx.redis, DOMAIN, BRANCHES, token, units, coordinator_id="coordinator-1")

    return run


def _stations(app) -> list:
    with app.extensions["unionhub"].db.engine.connect() as conn:
        return list(conn.execute(select(tables.stations)))


def test_a_dozen_stations_are_registered_around_guiyang_and_zunyi(app, load):
    assert load() == 12

    stations = _stations(app)
    names = {s.name for s in stations}
    assert len(names) == 12 and DOMAIN["stations"]["example"]["name"] in names
    assert {s.branch_id for s in stations} == {"b-1", "b-2"}
    assert all(set(s.amenities) <= set(AMENITIES) for s in stations)
    assert {"24/7", "Mo-Fr 07:00-21:00; Sa,Su 09:00-18:00; PH off"} <= {s.opening_hours for s in stations}


@pytest.mark.parametrize("city, branch_id", [("贵阳", "b-1"), ("遵义", "b-2")])
def test_the_finder_finds_each_citys_stations_near_its_centre(app, api, load, city, branch_id):
    load()
    lat, lng = DOMAIN["city_centres"][city]

    found = api.get(f"/api/v1/stations?lat={lat}&lng={lng}&radius_m=5000&limit=50")

    assert {s["id"] for s in found} == {s.id for s in _stations(app) if s.branch_id == branch_id}


def test_the_demo_coordinator_is_assigned_to_every_demo_station(app, load):
    load()

    with app.extensions["unionhub"].db.engine.connect() as conn:
        rows = conn.execute(select(tables.station_coordinators)).all()
    assert len(rows) == 12 and {r.staff_id for r in rows} == {"coordinator-1"}


def test_a_second_run_adds_nothing(app, load):
    load()

    assert load() == 0
    with app.extensions["unionhub"].db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tables.stations)).scalar_one() == 12
