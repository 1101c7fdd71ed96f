"""The finder's Redis projection: where stations are, what they offer, whether their hours say open.

The database is the record; this is rebuilt from it by ``unionhub stations-reindex``. A finder
request reads only Redis, in one round trip: a script that runs the GEOSEARCH, checks each station
found against the amenity and "open now" sets until the limit is reached, and returns the chosen
stations' cards. It never parses opening hours. Each station's hours are evaluated when
it is written and again when its next transition (opening or closing) comes, by whichever runs first
after that moment: ``unionhub stations-tick`` (the worker's timer) or a finder request, which
refreshes the few stations whose transition has passed before it answers. So an expression is parsed
once per transition, whatever the request rate.
"""

from __future__ import annotations

import hashlib
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


# The whole search in one round trip, and Redis stops at the limit instead of testing every station
# in the radius. Nil when asked to check and a station's hours are overdue for re-evaluation: the
# caller refreshes them (which parses opening hours, in Python) and asks again without the check.
# The script builds the card keys from their prefix, since only it knows which stations it chose;
# as for any MGET of several cards, the keys must be on one Redis, not spread over a cluster.
# KEYS: the GEO set, the transitions, the open set, then every set a station must be in.
# ARGV: now (epoch s), lng, lat, radius (m), limit, check overdue (1/0), open filtered (1/0),
# card key prefix.
_SEARCH = b"""
if ARGV[6] == '1' and redis.call('ZCOUNT', KEYS[2], '-inf', ARGV[1]) > 0 then
    return false
end
local limit = tonumber(ARGV[5])
local command = {'GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[2], ARGV[3], 'BYRADIUS', ARGV[4], 'm', 'ASC',
                 'WITHDIST'}
if #KEYS == 3 then
    command[#command + 1] = 'COUNT'
    command[#command + 1] = limit
end
local found, chosen = {}, 0
for _, hit in ipairs(redis.call(unpack(command))) do
    local passes = true
    for k = 4, #KEYS do
        if redis.call('SISMEMBER', KEYS[k], hit[1]) == 0 then
            passes = false
            break
        end
    end
    if passes then
        chosen = chosen + 1
        local card = redis.call('GET', ARGV[8] .. hit[1])
        if card then
            local open = ARGV[7] == '1' or redis.call('SISMEMBER', KEYS[3], hit[1]) == 1
            found[#found + 1] = hit[2]
            found[#found + 1] = open and 1 or 0
            found[#found + 1] = card
        end
        if chosen == limit then
            break
        end
    end
end
return found
"""
_SEARCH_SHA = hashlib.sha1(_SEARCH).hexdigest()


def search(client: redis.Redis, query: Search, at: datetime | None = None) -> bytes:
    """Stations within the radius that pass the filters, nearest first, as the JSON array the finder
    answers: each station's card with distance_m and open_now."""
    at = at or now()
    found = _run_search(client, query, at, check_due=True)
    if found is None:
        refresh_due(client, at, limit=REFRESH_PER_REQUEST)
        found = _run_search(client, query, at, check_due=False)
    # The cards are stored as JSON objects in the answer's shape; each gets its two per-request
    # members spliced in before the closing brace rather than a decode and an encode.
    entries = [
        b'%s,"distance_m":%d,"open_now":%s}'
        % (card[:-1], round(float(dist)), b"true" if is_open else b"false")
        for dist, is_open, card in zip(found[::3], found[1::3], found[2::3], strict=True)
    ]
    return b"[" + b",".join(entries) + b"]"


def _run_search(client: redis.Redis, query: Search, at: datetime, *, check_due: bool) -> list | None:
    filters = [keys.amenity(a) for a in query.amenities]
    if query.open_now:
        filters.append(keys.open_now())
    script_keys = [keys.geo(), keys.transitions(), keys.open_now(), *filters]
    args = (
        at.timestamp(), query.lng, query.lat, query.radius_m, query.limit, int(check_due),
        int(query.open_now), keys.card(""),
    )  # fmt: skip
    try:
        return client.evalsha(_SEARCH_SHA, len(script_keys), *script_keys, *args)
    except redis.exceptions.NoScriptError:  # a restarted or another Redis: EVAL caches it there
        return client.eval(_SEARCH, len(script_keys), *script_keys, *args)
