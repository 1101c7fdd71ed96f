"""The finder's Redis projection: where stations are, what they offer, whether their hours say open.

The database is the record; this is rebuilt from it by ``unionhub stations-reindex``. A finder
request reads only Redis, in one round trip: a script that runs the GEOSEARCH and returns the chosen
stations' cards. An open-now search runs it on a GEO set holding only the stations open now (of
one amenity, or all of them), so Redis stops at the limit; other searches test each station found
against the amenity and "open now" sets until the limit is reached. It never parses opening hours.
Each station's hours are evaluated when it is written and again when its next transition (opening
or closing) comes, by whichever runs first after that moment: ``unionhub stations-tick`` (the
worker's timer) or a finder request, which refreshes the few stations whose transition has passed
before it answers. So an expression is parsed once per transition, whatever the request rate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import redis
from redis.commands.core import Script

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
    # After the position and amenities, in the same transaction: the open GEO sets copy them.
    _set_state(pipe, station.id, state, at)
    pipe.execute()


def update_live(client: redis.Redis, station: Station) -> None:
    """A volunteer opened or closed the station: only its card's live part changes."""
    client.set(keys.card(station.id), json.dumps(card(station, live_status(station)), ensure_ascii=False))


# A station's hours' state: the open set, its transition, and the open GEO sets. These copy the
# station's position and amenities as Redis holds them when the script runs, not as the caller last
# read them, so a transition racing a change of the station cannot leave either in a wrong set.
# A station not in the GEO set (removed) is in no open GEO set.
# KEYS: the GEO set, the open set, the transitions, the open GEO set of all, then for each amenity
# its set and its open GEO set. ARGV: station id, open (1/0), the transition's epoch second.
_STATE = Script(
    None,
    b"""
local id = ARGV[1]
local position = redis.call('ZSCORE', KEYS[1], id)
if ARGV[2] == '1' and position then
    redis.call('SADD', KEYS[2], id)
    redis.call('ZADD', KEYS[4], position, id)
    for k = 5, #KEYS, 2 do
        if redis.call('SISMEMBER', KEYS[k], id) == 1 then
            redis.call('ZADD', KEYS[k + 1], position, id)
        else
            redis.call('ZREM', KEYS[k + 1], id)
        end
    end
else
    redis.call('SREM', KEYS[2], id)
    for k = 4, #KEYS, 2 do
        redis.call('ZREM', KEYS[k], id)
    end
end
redis.call('ZADD', KEYS[3], ARGV[3], id)
""",
)
_EACH_AMENITY = [key for a in AMENITIES for key in (keys.amenity(a), keys.open_geo(a))]
_STATE_KEYS = [keys.geo(), keys.open_now(), keys.transitions(), keys.open_geo(), *_EACH_AMENITY]


def _set_state(pipe, station_id: str, state: hours.State, at: datetime) -> None:
    when = state.next_change.timestamp() if state.next_change else at.timestamp() + NEVER
    _STATE(_STATE_KEYS, (station_id, int(state.open), when), client=pipe)


def _forget(pipe, station_id: str) -> None:
    """Take a station out of every part of the finder."""
    pipe.zrem(keys.geo(), station_id)
    pipe.zrem(keys.open_geo(), station_id)
    for amenity in AMENITIES:
        pipe.srem(keys.amenity(amenity), station_id)
        pipe.zrem(keys.open_geo(amenity), station_id)
    pipe.srem(keys.open_now(), station_id)
    pipe.zrem(keys.transitions(), station_id)
    pipe.delete(keys.card(station_id))


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
        if raw_card is None:  # its card is gone: no search could show it, so none should find it
            _forget(pipe, station_id)
            continue
        expression = json.loads(raw_card)["opening_hours"]
        _set_state(pipe, station_id, hours.state(hours.parse(expression), at), at)
    pipe.execute()
    return len(due)


# The open GEO sets came with version 2; a projection without this version's key (written by the
# code before, or partly rebuilt after Redis lost its data) is searched without them until
# ``upgrade`` builds them.
PROJECTION_VERSION = "2"

# Builds the open GEO sets from the sets every version keeps, in one step no write can interleave
# with: each is the GEO set intersected with the open set (and an amenity's set), the positions
# kept exactly (weights 1 0 0: a plain set's member counts as score 1, times 0 it adds nothing).
# Then it marks the version.
# KEYS: the version, the GEO set, the open set, the open GEO set of all, then for each amenity its
# set and its open GEO set. ARGV: the version. Answers how many stations are open, nil if current.
_UPGRADE = Script(
    None,
    b"""
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return false
end
local open = redis.call('ZINTERSTORE', KEYS[4], 2, KEYS[2], KEYS[3], 'WEIGHTS', 1, 0)
for k = 5, #KEYS, 2 do
    redis.call('ZINTERSTORE', KEYS[k + 1], 3, KEYS[2], KEYS[k], KEYS[3], 'WEIGHTS', 1, 0, 0)
end
redis.call('SET', KEYS[1], ARGV[1])
return open
""",
)


def upgrade(client: redis.Redis) -> int:
    """Bring a projection of an earlier version to this one (a no-op when it is current): how many
    open stations it placed in the open GEO sets, 0 when there was nothing to do."""
    keys_ = [keys.projection_version(), keys.geo(), keys.open_now(), keys.open_geo(), *_EACH_AMENITY]
    return _UPGRADE(keys_, (PROJECTION_VERSION,), client=client) or 0


@dataclass(frozen=True)
class Search:
    lat: float
    lng: float
    radius_m: int
    amenities: tuple[str, ...] = ()
    open_now: bool = False
    limit: int = 20


# The whole search in one round trip, and Redis stops at the limit instead of testing every station
# in the radius. An open-now search, on a current projection, runs the GEOSEARCH on the open GEO set
# of its first amenity (or of all open stations): whatever it finds passes, unless more amenities
# are asked. Any other search runs it on the GEO set of all stations and tests each station found
# against the filter sets. Nil when asked to check and a station's hours are overdue for
# re-evaluation: the caller refreshes them (which parses opening hours, in Python) and asks again
# without the check. The script builds the card keys from their prefix, since only it knows which
# stations it chose; as for any MGET of several cards, the keys must be on one Redis, not spread
# over a cluster.
# KEYS: the GEO set, the transitions, the open set, the version, the open GEO set to search, then
# every amenity's set. ARGV: now (epoch s), lng, lat, radius (m), limit, check overdue (1/0), open
# filtered (1/0), card key prefix, the projection's version.
_SEARCH = Script(
    None,
    b"""
if ARGV[6] == '1' and redis.call('ZCOUNT', KEYS[2], '-inf', ARGV[1]) > 0 then
    return false
end
local limit = tonumber(ARGV[5])
local open_filtered = ARGV[7] == '1'
local searched, filters = KEYS[1], {}
if open_filtered and redis.call('GET', KEYS[4]) == ARGV[9] then
    searched = KEYS[5]
    for k = 7, #KEYS do
        filters[#filters + 1] = KEYS[k]
    end
else
    for k = 6, #KEYS do
        filters[#filters + 1] = KEYS[k]
    end
    if open_filtered then
        filters[#filters + 1] = KEYS[3]
    end
end
local command = {'GEOSEARCH', searched, 'FROMLONLAT', ARGV[2], ARGV[3], 'BYRADIUS', ARGV[4], 'm', 'ASC',
                 'WITHDIST'}
if #filters == 0 then
    command[#command + 1] = 'COUNT'
    command[#command + 1] = limit
end
local found, chosen = {}, 0
for _, hit in ipairs(redis.call(unpack(command))) do
    local passes = true
    for _, filter in ipairs(filters) do
        if redis.call('SISMEMBER', filter, hit[1]) == 0 then
            passes = false
            break
        end
    end
    if passes then
        chosen = chosen + 1
        local card = redis.call('GET', ARGV[8] .. hit[1])
        if card then
            local open = open_filtered or redis.call('SISMEMBER', KEYS[3], hit[1]) == 1
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
""",
)


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
    amenities = query.amenities
    script_keys = [
        keys.geo(),
        keys.transitions(),
        keys.open_now(),
        keys.projection_version(),
        keys.open_geo(amenities[0] if amenities else None),
        *(keys.amenity(a) for a in amenities),
    ]
    args = (
        at.timestamp(), query.lng, query.lat, query.radius_m, query.limit, int(check_due),
        int(query.open_now), keys.card(""), PROJECTION_VERSION,
    )  # fmt: skip
    return _SEARCH(script_keys, args, client=client)
