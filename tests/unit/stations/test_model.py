"""Stations' rules without Flask: who registers and manages a station, distances, the rotation,
duty ownership."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.common.auth import Principal
from services.common.domain import Forbidden, Invalid
from services.stations import model


def station(**overrides) -> model.Station:
    values = dict(
        id="s-1",
        name="n",
        address="a",
        lat=26.56,
        lng=106.69,
        branch_id="b-1",
        branch_path=("root", "city-1", "b-1"),
        amenities=["water"],
        opening_hours="24/7",
        lockers=0,
        qr_generation=1,
        coordinators=("c-1",),
    )
    values.update(overrides)
    return model.Station(**values)


def test_admins_above_the_branch_and_assigned_coordinators_manage_the_station():
    s = station()
    assert model.may_manage(s, Principal("staff:a", frozenset({"admin"}), units=("city-1",)))
    assert not model.may_manage(s, Principal("staff:a", frozenset({"admin"}), units=("city-2",)))
    assert model.may_manage(s, Principal("staff:c-1", frozenset({"coordinator"})))
    claimed = Principal("staff:c-2", frozenset({"coordinator"}), station_ids=("s-1",))
    assert not model.may_manage(s, claimed)


def grant(branch_id: str, *, revoked: bool = False) -> model.RegistrationGrant:
    at = datetime(2026, 1, 5, tzinfo=UTC)
    return model.RegistrationGrant(
        id=f"g-{branch_id}",
        staff_id="c-1",
        branch_id=branch_id,
        branch_path=("root", branch_id),
        granted_by="staff:a",
        granted_at=at,
        revoked_by="staff:a" if revoked else None,
        revoked_at=at if revoked else None,
    )


def test_a_live_grant_of_the_branch_or_one_above_lets_a_coordinator_register_there():
    path = ("root", "city-1", "b-1")
    assert model.may_register(path, [grant("b-1")])
    assert model.may_register(path, [grant("b-2"), grant("city-1")])
    assert not model.may_register(path, [grant("b-1-1"), grant("city-2")])  # below it, beside it
    assert not model.may_register(path, [grant("city-1", revoked=True)])
    assert not model.may_register(path, [])
    assert not model.may_register(None, [grant("root")])  # a branch whose path is not known here


def test_known_distances():
    assert model.distance_m(26.56, 106.69, 26.56, 106.69) == 0
    # One degree of latitude is 111.2 km on the mean sphere.
    assert model.distance_m(26.0, 106.69, 27.0, 106.69) == pytest.approx(111_195, rel=1e-4)


def test_groups_take_weeks_in_turn():
    plan = model.rotation(date(2026, 10, 12), 5, ["g1", "g2", "g3", "g4"])
    assert [g for _, g in plan] == ["g1", "g2", "g3", "g4", "g1"]
    assert plan[1][0] == date(2026, 10, 19)
    with pytest.raises(Invalid):
        model.rotation(date(2026, 10, 12), 1, [])


def test_check_in_location_must_be_near_when_given():
    s = station()
    model.check_within(s, None, None, 200)
    model.check_within(s, 26.5605, 106.6902, 200)
    with pytest.raises(Forbidden):
        model.check_within(s, 26.57, 106.69, 200)


def test_unknown_amenities_are_named():
    assert model.check_amenities(["water", "fridge", "water"]) == ["fridge", "water"]
    with pytest.raises(Invalid) as refused:
        model.check_amenities(["sauna"])
    assert refused.value.params == {"amenity": "sauna"}
