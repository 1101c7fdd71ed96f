"""Opening hours in OpenStreetMap ``opening_hours`` syntax, parsed and evaluated by opening-hours-py.

Stations are in Guizhou: every expression is evaluated in Asia/Shanghai with China's public holidays
(``PH``). Parsing costs far more than a lookup, so nothing here runs per finder request: a station's
state and its next transition are computed when it is written and again when that transition comes
(finder.py keeps them in Redis).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import opening_hours

from services.common.clock import SHANGHAI
from services.common.domain import Invalid

COUNTRY = "CN"
MAX_LENGTH = 500
# opening-hours-py reports where parsing stopped as " --> line:column" and what it expected after "= ".
_POSITION = re.compile(r"-->\s*(\d+):(\d+)")
_EXPECTED = re.compile(r"=\s*(.+)\s*$")


@dataclass(frozen=True)
class State:
    open: bool
    next_change: datetime | None  # UTC; None: this state lasts (e.g. 24/7)


def parse(expression: str) -> opening_hours.OpeningHours:
    """The parsed expression, or Invalid("opening_hours.syntax") naming the line and column."""
    if not expression.strip():
        raise Invalid("opening_hours.syntax", field="opening_hours", line=1, column=1, expected="a rule")
    try:
        return opening_hours.OpeningHours(expression, timezone=SHANGHAI, country=COUNTRY)
    except opening_hours.ParserError as error:
        message = str(error)
        position = _POSITION.search(message)
        expected = _EXPECTED.search(message)
        line, column = (int(position[1]), int(position[2])) if position else (1, 1)
        raise Invalid(
            "opening_hours.syntax",
            field="opening_hours",
            line=line,
            column=column,
            expected=expected[1].strip() if expected else "a valid rule",
        ) from None


def state(parsed: opening_hours.OpeningHours, at: datetime) -> State:
    local = at.astimezone(SHANGHAI)
    change = parsed.next_change(local)
    return State(parsed.is_open(local), change.astimezone(UTC) if change is not None else None)


def day_bounds(parsed: opening_hours.OpeningHours, day: date) -> tuple[datetime, datetime] | None:
    """When the station opens on ``day`` (local) and when that opening closes, in UTC: the times of
    the day's open and close duties. None when it does not open that day.

    Duties follow openings, not midnights. An opening that runs past midnight (22:00-06:00) is the
    day's it began on: its close duty is the next morning's closing, and the next day begins with its
    own opening at 22:00 (a morning that only ends the night before has no duty of its own). Where
    the station opens more than once in a day (a lunch break), the first opening and the closing of
    the last. A station open all day from the day before (24/7) has the day's midnights; so has an
    opening still open a day after the day it began on, which closes at the end of that day.
    """
    start = datetime.combine(day, time(0), SHANGHAI)
    end = start + timedelta(days=1)
    horizon = end + timedelta(days=1)
    # From a minute before midnight: an interval that starts at ``start`` is an opening, not the
    # night before running on (the library merges adjacent open intervals).
    opened = [
        (a, b)
        for a, b, s, _ in parsed.intervals(start - timedelta(minutes=1), horizon)
        if s == opening_hours.State.OPEN
    ]
    begun = [(a, b) for a, b in opened if start <= a < end]
    if begun:
        closes = begun[-1][1]
        return begun[0][0].astimezone(UTC), (closes if closes < horizon else end).astimezone(UTC)
    if any(a < start and b >= end for a, b in opened):
        return start.astimezone(UTC), end.astimezone(UTC)
    return None
