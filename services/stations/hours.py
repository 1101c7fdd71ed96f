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
    """When a station first opens and last closes on ``day`` (local), in UTC; None if closed all day.

    An overnight range (22:00-06:00) that runs into the next day closes at midnight for this
    purpose: the next day's duties start from its own first opening.
    """
    start = datetime.combine(day, time(0), SHANGHAI)
    end = start + timedelta(days=1)
    opened = [
        (max(a, start), min(b, end))
        for a, b, s, _ in parsed.intervals(start, end)
        if s == opening_hours.State.OPEN
    ]
    if not opened:
        return None
    return opened[0][0].astimezone(UTC), opened[-1][1].astimezone(UTC)
