"""Opening hours as the library evaluates them for Guizhou: overnight ranges, holidays off, weekday
lists, and malformed expressions with their position."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.common.clock import SHANGHAI
from services.common.domain import Invalid
from services.stations import hours


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_an_overnight_range_is_open_after_midnight_and_closes_in_the_morning():
    parsed = hours.parse("Mo-Su 22:00-06:00")
    state = hours.state(parsed, local(2026, 10, 14, 2, 0))
    assert state.open
    assert state.next_change == local(2026, 10, 14, 6, 0).astimezone(UTC)
    assert not hours.state(parsed, local(2026, 10, 14, 12, 0)).open


def bounds(expression: str, day: date) -> tuple[datetime, datetime] | None:
    found = hours.day_bounds(hours.parse(expression), day)
    return found and (found[0].astimezone(SHANGHAI), found[1].astimezone(SHANGHAI))


def test_a_nights_duties_are_its_opening_and_its_closing_the_next_morning():
    assert bounds("Mo-Su 22:00-06:00", date(2026, 10, 14)) == (
        local(2026, 10, 14, 22),
        local(2026, 10, 15, 6),
    )


def test_a_morning_that_only_ends_the_night_before_has_no_duties_of_its_own():
    # Friday and Saturday nights: Sunday morning closes Saturday's night, and nothing opens on Sunday.
    assert bounds("Fr,Sa 18:00-02:00", date(2026, 10, 16)) == (
        local(2026, 10, 16, 18),
        local(2026, 10, 17, 2),
    )
    assert bounds("Fr,Sa 18:00-02:00", date(2026, 10, 17)) == (
        local(2026, 10, 17, 18),
        local(2026, 10, 18, 2),
    )
    assert bounds("Fr,Sa 18:00-02:00", date(2026, 10, 18)) is None


def test_a_day_with_a_break_opens_at_its_first_opening_and_closes_at_its_last_closing():
    assert bounds("Mo-Su 08:00-12:00,14:00-18:00", date(2026, 10, 14)) == (
        local(2026, 10, 14, 8),
        local(2026, 10, 14, 18),
    )
    # Open until two in the morning: the day's closing is the next day's, at two.
    assert bounds("Mo-Su 00:00-02:00,08:00-24:00", date(2026, 10, 14)) == (
        local(2026, 10, 14, 8),
        local(2026, 10, 15, 2),
    )


def test_a_station_open_around_the_clock_has_the_days_midnights():
    midnights = (local(2026, 10, 14), local(2026, 10, 15))
    assert bounds("24/7", date(2026, 10, 14)) == midnights
    assert bounds("Mo-Su 00:00-24:00", date(2026, 10, 14)) == midnights
    # Open from Monday 00:00 to Saturday 00:00: Monday opens at midnight and, still open a day on,
    # closes its day at the next midnight; Friday is open all day.
    assert bounds("Mo-Fr 00:00-24:00", date(2026, 10, 12)) == (local(2026, 10, 12), local(2026, 10, 13))
    assert bounds("Mo-Fr 00:00-24:00", date(2026, 10, 16)) == (local(2026, 10, 16), local(2026, 10, 17))
    assert bounds("Mo-Fr 00:00-24:00", date(2026, 10, 17)) is None


def test_public_holidays_off_close_national_day():
    parsed = hours.parse("Mo-Su 08:00-20:00; PH off")
    assert not hours.state(parsed, local(2026, 10, 1, 12, 0)).open  # 国庆节
    assert hours.day_bounds(parsed, date(2026, 10, 1)) is None
    assert hours.state(parsed, local(2026, 10, 14, 12, 0)).open


def test_a_weekday_list_opens_only_on_the_listed_days():
    parsed = hours.parse("Mo,We,Fr 09:00-17:00")
    assert hours.state(parsed, local(2026, 10, 12, 10, 0)).open  # Monday
    assert not hours.state(parsed, local(2026, 10, 13, 10, 0)).open  # Tuesday
    assert hours.state(parsed, local(2026, 10, 14, 10, 0)).open  # Wednesday
    state = hours.state(parsed, local(2026, 10, 13, 10, 0))
    assert state.next_change == local(2026, 10, 14, 9, 0).astimezone(UTC)


def test_always_open_has_no_next_change():
    assert hours.state(hours.parse("24/7"), local(2026, 10, 14, 3, 0)) == hours.State(True, None)


@pytest.mark.parametrize(
    "expression, column",
    [("Mo-Fr 08:00-25:6x", 16), ("Mo-Fr 08:00-18:00; PH offf", 26), ("", 1), ("Xx 08:00-18:00", 1)],
)
def test_a_malformed_expression_is_refused_with_its_position(expression, column):
    with pytest.raises(Invalid) as refused:
        hours.parse(expression)
    assert refused.value.code == "opening_hours.syntax"
    assert refused.value.field == "opening_hours"
    assert refused.value.params["line"] == 1 and refused.value.params["column"] == column
