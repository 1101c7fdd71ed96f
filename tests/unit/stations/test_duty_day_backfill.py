"""Revision 93e2ac8c854c: shifts from before duty_day get the day in Shanghai they started on, the
latest of a volunteer's shifts at a station that day only; on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from services.common import migrations
from services.stations import repository
from services.stations import tables as st
from tests.support import SQLITE_AND_POSTGRES, migrate, service_database

BEFORE = "4a8410f7646e"  # added duty_day, empty on the shifts already there
NOW = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


@pytest.fixture(params=SQLITE_AND_POSTGRES)
def database(request, tmp_path):
    with service_database("stations", request.param, tmp_path, "backfill") as found:
        yield found


def _station(station_id: str) -> dict:
    return {
        "id": station_id,
        "name": "暖心驿站",
        "address": "贵阳市观山湖区",
        "lat": 26.6,
        "lng": 106.6,
        "branch_id": "u-1",
        "branch_path": ["u-1"],
        "amenities": [],
        "opening_hours": "Mo-Su 08:00-22:00",
        "lockers": 0,
        "qr_generation": 1,
        "status": "closed",
        "created_by": "s-1",
        "created_at": NOW,
    }


def _shift(shift_id, member_id, station_id, started_at, *, open_=False, duty_day=None) -> dict:
    return {
        "id": shift_id,
        "station_id": station_id,
        "member_id": member_id,
        "group_id": None,
        "status": "open" if open_ else "completed",
        "started_at": started_at,
        "ended_at": None if open_ else started_at.replace(minute=59),
        "minutes": None if open_ else 59,
        "duty_day": duty_day,
    }


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


SHIFTS = [
    # m-1 at st-1 on the 20th in Shanghai, twice (checked out and in again): the latest is dated.
    _shift("a-morning", "m-1", "st-1", _at(20, 1)),  # 09:00 in Shanghai
    _shift("a-afternoon", "m-1", "st-1", _at(20, 5)),  # 13:00
    # 23:30 UTC is 07:30 on the 21st in Shanghai.
    _shift("b-late-utc", "m-1", "st-1", _at(20, 23, 30)),
    # Another volunteer, and another station, the same day: each a day of its own.
    _shift("c-other-member", "m-2", "st-1", _at(20, 2)),
    _shift("d-other-station", "m-1", "st-2", _at(20, 3)),
    # Stepped out and back, still on duty: the open shift is the one dated.
    _shift("e-earlier", "m-5", "st-1", _at(25, 1)),
    _shift("e-open", "m-5", "st-1", _at(25, 6), open_=True),
    # A check-in after the release dated a shift of the 22nd; an older one that day keeps none.
    _shift("f-old", "m-3", "st-1", _at(21, 23)),  # 07:00 on the 22nd
    _shift("f-dated", "m-3", "st-1", _at(22, 1), duty_day=date(2026, 11, 22)),
    # Dated by the release, by yesterday's opening running past midnight: left as it is.
    _shift("g-night", "m-4", "st-1", _at(21, 17), duty_day=date(2026, 11, 21)),  # 01:00 on the 22nd
]

EXPECTED = {
    "a-morning": None,
    "a-afternoon": date(2026, 11, 20),
    "b-late-utc": date(2026, 11, 21),
    "c-other-member": date(2026, 11, 20),
    "d-other-station": date(2026, 11, 20),
    "e-earlier": None,
    "e-open": date(2026, 11, 25),
    "f-old": None,
    "f-dated": date(2026, 11, 22),
    "g-night": date(2026, 11, 21),
}


def test_old_shifts_get_their_day_in_shanghai_the_latest_of_a_day_only(database):
    settings, db = database
    migrate("stations", db, BEFORE)
    with db.engine.begin() as conn:
        conn.execute(st.stations.insert(), [_station("st-1"), _station("st-2")])
        conn.execute(st.shifts.insert(), SHIFTS)

    migrate("stations", db, "head")

    with db.engine.connect() as conn:
        days = dict(conn.execute(select(st.shifts.c.id, st.shifts.c.duty_day)).all())
        assert days == EXPECTED
        # The bug it mends: a check-in that day finds the day's shift and resumes it.
        assert repository.day_shift_of(conn, "m-1", "st-1", date(2026, 11, 20)).id == "a-afternoon"
        assert repository.day_shift_of(conn, "m-5", "st-1", date(2026, 11, 25)).id == "e-open"
    assert migrations.current("stations", settings) == migrations.heads("stations")
    assert migrations.compare("stations", settings) == []


def test_downgrading_keeps_the_days(database):
    settings, db = database
    migrate("stations", db, BEFORE)
    with db.engine.begin() as conn:
        conn.execute(st.stations.insert(), [_station("st-1"), _station("st-2")])
        conn.execute(st.shifts.insert(), SHIFTS)
    migrate("stations", db, "head")

    migrate("stations", db, BEFORE, down=True)

    with db.engine.connect() as conn:
        assert dict(conn.execute(select(st.shifts.c.id, st.shifts.c.duty_day)).all()) == EXPECTED
