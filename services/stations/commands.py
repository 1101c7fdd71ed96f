"""Stations' own ``unionhub`` subcommands: demo data, the finder's upkeep and the missed-duty check.

The worker does ``stations-tick``'s work every minute by itself (jobs.py): it marks duties nobody
took within the grace period as missed and re-evaluates the stations whose opening hours changed
state; the command runs it once, by hand. ``stations-reindex`` rebuilds the finder from the
database (after Redis lost its data).
"""

from __future__ import annotations

import redis

from services.common import kit
from services.common.kit import Command

from . import finder, repository, seed, shifts


def _parts():
    settings = kit.load_settings("stations")
    return (
        settings,
        kit.database("stations", settings),
        redis.Redis.from_url(settings.redis_url, socket_timeout=5),
    )


def _tick(_args) -> int:
    settings, db, client = _parts()
    missed = shifts.mark_missed(db.unit_of_work(), settings)
    refreshed = finder.refresh_due(client)
    print(f"{missed} duty(ies) missed; {refreshed} station(s) changed opening state")
    return 0


def _reindex(_args) -> int:
    _settings, db, client = _parts()
    with db.unit_of_work().read_only() as uow:
        stations = repository.all_stations(uow.connection)
    for station in stations:
        finder.index(client, station)
    finder.upgrade(client)  # a projection an earlier version wrote gets this one's sets
    print(f"indexed {len(stations)} station(s)")
    return 0


def _seed(args) -> int:
    seed.main(args.domain)
    return 0


COMMANDS = [
    Command("seed", "a dozen demo stations around 贵阳 and 遵义, in the finder", _seed),
    Command(
        "stations-tick", "mark missed duties and refresh stations whose opening hours changed state", _tick
    ),
    Command("stations-reindex", "rebuild the stations finder in Redis from the database", _reindex),
]
