"""The finder's Redis projection: where stations are, what they offer, whether their hours say open.

The database is the record; this is rebuilt from it by ``unionhub stations-reindex``. A finder
request reads only Redis: one GEOSEARCH, set lookups for the amenity and "open now" filters and one
MGET of the stations' cards. It never parses opening hours. Each station's hours are evaluated when
it is written and again when its next transition (opening or closing) comes, by whichever runs first
after that moment: ``unionhub stations-tick`` (the worker's timer) or a finder request, which
refreshes the few stations whose transition has passed before it answers. So an expression is parsed
once per transition, whatever the request rate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import redis

from services.common.clock import now

from . import hours, keys
from .model import AMENITIES, Station

# How many overdue stations one finder request refreshes before answering; the tick does the rest.
REFRESH_PER_REQUEST = 50
# A state that never changes (24/7, "off") is looked at again a year on, e.g. for next year's holidays.
NEVER = 365 * 24 * 3600


def card(station: Station, live: dict) -> dict:
    return {
        "id": station.id,
        "name": station.name,
        "address": station.address,
        "lat": station.lat,
        "lng": station.lng,
        "amenities": list(station.amenities),
        "opening_hours": station.opening_hours,
        "live": live,
    }


def live_status(station: Station) -> dict:
    return {
        "status": station.status,
        "on_duty_group": station.on_duty_group,
        "updated_at": station.status_at.isoformat() if station.status_at else None,
    }


def index(client: redis.Redis, station: Station, at: datetime | None = None) -> None:
    """Put a station (new or changed) in the finder, with its hours' state evaluated now."""
    at = at or now()
    state = hours.state(hours.parse(station.opening_hours), at)
    pipe = client.pipeline(transaction=True)
    pipe.geoadd(keys.geo(), (station.lng, station.lat, station.id))
    for amenity in AMENITIES:
        if amenity in station.amenities:
            pipe.sadd(keys.amenity(amenity), station.id)
        else:
            pipe.srem(keys.amenity(amenity), station.id)
    pipe.set(keys.card(station.id), json.dumps(card(station, live_status(station)), ensure_ascii=False))
    _set_state(pipe, station.id, state, at)
    pipe.execute()


def update_live(client: redis.Redis, station: Station) -> None:
    """A volunteer opened or closed the station: only its card's live part changes."""
    client.set(keys.card(station.id), json.dumps(card(station, live_status(station)), ensure_ascii=False))


def _set_state(pipe, station_id: str, state: hours.State, at: datetime) -> None:
    if state.open:
        pipe.sadd(keys.open_now(), station_id)
    else:
        pipe.srem(keys.open_now(), station_id)
    when = state.next_change.timestamp() if state.next_change else at.timestamp() + NEVER
    pipe.zadd(keys.transitions(), {station_id: when})


def refresh_due(client: redis.Redis, at: datetime | None = None, *, limit: int | None = None) -> int:
    """Re-evaluate the stations whose hours changed state since they were last looked at; how many."""
    at = at or now()
    due = client.zrangebyscore(keys.transitions(), "-inf", at.timestamp(), start=0, num=limit or 1_000_000)
    if not due:
        return 0
    cards = client.mget([keys.card(i.decode()) for i in due])
    pipe = client.pipeline(transaction=False)
    for raw_id, raw_card in zip(due, cards, strict=True):
        station_id = raw_id.decode()
        if raw_card is None:  # removed meanwhile
            pipe.zrem(keys.transitions(), station_id)
            continue
        expression = json.loads(raw_card)["opening_hours"]
        _set_state(pipe, station_id, hours.state(hours.parse(expression), at), at)
    pipe.execute()
    return len(due)


@dataclass(frozen=True)
class Search:
    lat: float
    lng: float
    radius_m: int
    amenities: tuple[str, ...] = ()
    open_now: bool = False
    limit: int = 20


def search(client: redis.Redis, query: Search, at: datetime | None = None) -> list[dict]:
    """Stations within the radius that pass the filters, nearest first, each with distance_m."""
    if client.zcount(keys.transitions(), "-inf", (at or now()).timestamp()):
        refresh_due(client, at, limit=REFRESH_PER_REQUEST)
    found = client.geosearch(
        keys.geo(),
        longitude=query.lng,
        latitude=query.lat,
        radius=query.radius_m,
        unit="m",
        sort="ASC",
        withdist=True,
    )
    if not found:
        return []
    ids = [member.decode() for member, _ in found]
    filters = [keys.amenity(a) for a in query.amenities]
    if query.open_now:
        filters.append(keys.open_now())
    pipe = client.pipeline(transaction=False)
    for key in filters:
        pipe.smismember(key, ids)
    passing = [all(flags) for flags in zip(*pipe.execute(), strict=True)] if filters else [True] * len(ids)
    chosen = [(i, dist) for (i, (_, dist)), ok in zip(enumerate(found), passing, strict=True) if ok]
    chosen = chosen[: query.limit]
    if not chosen:
        return []
    cards = client.mget([keys.card(ids[i]) for i, _ in chosen])
    opened = client.smismember(keys.open_now(), [ids[i] for i, _ in chosen])
    answer = []
    for (_, dist), raw, is_open in zip(chosen, cards, opened, strict=True):
        if raw is None:
            continue
        entry = json.loads(raw)
        entry["distance_m"] = round(dist)
        entry["open_now"] = bool(is_open)
        answer.append(entry)
    return answer
