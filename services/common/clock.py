"""Time as every service keeps it: stored and compared in UTC, shown and counted by the union's day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# Guizhou's unions, like all of China, keep one time zone; "a day" of statistics is a day there.
SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(UTC)


def utc(value: datetime | None) -> datetime | None:
    """Datetimes come back from SQLite without their offset; everything is stored in UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def local_day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()
