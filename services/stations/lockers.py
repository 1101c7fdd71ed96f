"""Lockers: a courier deposits items in a numbered locker and gets a pickup code; the code frees it.

The code is kept only as a keyed hash, so whoever reads the table cannot open a locker. A retried
deposit must answer the same code, so the stored answer keeps it too, but sealed (encrypted and
authenticated under a key derived from the service's secret), not as it was sent. Six digits are
guessable in bulk, so a courier's attempts are limited per station and per day; with Redis down the
limits cannot count, and a pickup is refused (503) rather than let a guesser through uncounted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

import redis
from cryptography.fernet import Fernet
from sqlalchemy.exc import IntegrityError

from schemas.events import stations as ev
from services.common import ratelimit
from services.common.clock import now
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Invalid, NotFound
from services.common.idempotency import IdempotentRequest
from services.common.members import require_active

from . import keys, repository, tables
from .service import existing

DEPOSITS_PER_COURIER = 3  # lockers one courier holds at a station at once
# Wrong pickup codes, counted as tried and given back when right (ratelimit.give_back).
PICKUP_ATTEMPTS = 10  # per courier and station in the window
PICKUP_WINDOW_SECONDS = 600
# Per courier a day, at every station together: with the limit above alone one account
# could try 1,440 codes a day at each station, a one-in-four chance a day of opening one of 200
# occupied lockers; this keeps it near 0.6 %, and real-name accounts are not had for free.
DAILY_PICKUPS = 30


def code_hash(key: bytes, station_id: str, code: str) -> str:
    return hmac.new(key, f"{station_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _seal(key: bytes) -> Fernet:
    """The cipher of the pickup code in a deposit's stored answer, its key derived from the secret."""
    derived = hmac.new(key, b"unionhub stations: pickup code in a stored answer", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def _stored(key: bytes, body: dict) -> dict:
    """The deposit's answer as ``remember`` keeps it: the pickup code sealed."""
    sealed = _seal(key).encrypt(body["pickup_code"].encode()).decode()
    return {**{k: v for k, v in body.items() if k != "pickup_code"}, "sealed_pickup_code": sealed}


def _answered(key: bytes, stored: dict) -> dict:
    """A stored deposit answer as it was first given (one kept before codes were sealed is as it was)."""
    if "sealed_pickup_code" not in stored:
        return stored
    code = _seal(key).decrypt(stored["sealed_pickup_code"].encode()).decode()
    return {**{k: v for k, v in stored.items() if k != "sealed_pickup_code"}, "pickup_code": code}


def deposit(
    uow: UnitOfWork,
    key: bytes,
    idempotent: IdempotentRequest,
    member_id: str,
    station_id: str,
    locker_no: int | None,
) -> dict:
    """A locker and its pickup code for the courier; a retry is answered the same code. A request
    with the same Idempotency-Key at another station locks another row, so the two can meet only at
    the key's unique index: the loser is answered what the winner stored (``once``), 409
    ``idempotency_key_reused`` when that was another deposit."""
    stored = idempotent.once(uow, lambda: _deposit(uow, key, idempotent, member_id, station_id, locker_no))
    return _answered(key, stored)


def _deposit(
    uow: UnitOfWork,
    key: bytes,
    idempotent: IdempotentRequest,
    member_id: str,
    station_id: str,
    locker_no: int | None,
) -> dict:
    """The deposit's answer as stored (``_stored``: the code sealed)."""
    with uow:
        conn = uow.connection
        # The station's row, locked first: a station's deposits go one at a time, so each sees what
        # the ones before it committed: the lockers they took ("the first free locker" is free, where
        # the unique index alone would turn away couriers racing for locker 1 while others stand
        # empty) and the answer of a twin with the same Idempotency-Key (its answer is ours).
        station = existing(conn, station_id, for_update=True)
        answered = idempotent.answered(conn)
        if answered:
            return answered[1]
        require_active(conn, tables.members, member_id)
        if station.lockers == 0:
            raise Conflict("locker.none")
        if locker_no is not None and not 1 <= locker_no <= station.lockers:
            raise Invalid("locker.no_such_locker", field="locker_no", count=station.lockers)
        taken = repository.occupied(conn, station.id)
        # One courier cannot take every locker (nothing but a pickup frees one); the volunteer on
        # shift here deposits for couriers under their own login, and is not limited.
        if repository.deposits_held(conn, station.id, member_id) >= DEPOSITS_PER_COURIER:
            shift = repository.open_shift_of(conn, member_id)  # one at most, at one station
            if shift is None or shift.station_id != station.id:
                raise Conflict("locker.courier_limit", limit=DEPOSITS_PER_COURIER)
        if locker_no is None:
            free = [n for n in range(1, station.lockers + 1) if n not in taken]
            if not free:
                raise Conflict("locker.full")
            locker_no = free[0]
        elif locker_no in taken:
            raise Conflict("locker.occupied")
        # A code unique among this station's occupied lockers, so a code opens exactly one.
        while True:
            code = f"{secrets.randbelow(10**6):06d}"
            if repository.deposit_by_code(conn, station.id, code_hash(key, station.id, code)) is None:
                break
        deposit_id = str(uuid.uuid4())
        at = now()
        try:
            with conn.begin_nested():
                repository.add_deposit(
                    conn,
                    id=deposit_id,
                    station_id=station.id,
                    locker_no=locker_no,
                    member_id=member_id,
                    code_hash=code_hash(key, station.id, code),
                    deposited_at=at,
                )
        except IntegrityError:  # another courier took the same locker at the same moment
            raise Conflict("locker.occupied") from None
        uow.emit(
            ev.LOCKER_DEPOSITED,
            station.id,
            {
                "station_id": station.id,
                "locker_id": str(locker_no),
                "member_id": member_id,
                "occurred_at": at,
            },
        )
        stored = _stored(
            key, {"id": deposit_id, "station_id": station.id, "locker_no": locker_no, "pickup_code": code}
        )
        idempotent.remember(conn, 201, stored)
        uow.commit()
    return stored


def pickup(
    uow: UnitOfWork, client: redis.Redis, key: bytes, member_id: str, station_id: str, code: str
) -> dict:
    with uow:
        conn = uow.connection
        require_active(conn, tables.members, member_id)
        station = existing(conn, station_id)
        ratelimit.guard(
            client,
            keys.pickup_attempts(station.id, member_id),
            limit=PICKUP_ATTEMPTS,
            window_seconds=PICKUP_WINDOW_SECONDS,
        )
        ratelimit.guard(client, keys.daily_pickups(member_id), limit=DAILY_PICKUPS, window_seconds=86400)
        found = repository.deposit_by_code(conn, station.id, code_hash(key, station.id, code))
        if found is None:
            raise NotFound("locker.code_invalid")
        at = now()
        repository.collect(conn, found.id, member_id, at)
        uow.emit(
            ev.LOCKER_COLLECTED,
            station.id,
            {
                "station_id": station.id,
                "locker_id": str(found.locker_no),
                "member_id": member_id,
                "occurred_at": at,
            },
        )
        uow.commit()
    # The limits are on wrong codes: a volunteer collecting for couriers all day is not held up.
    ratelimit.give_back(client, keys.pickup_attempts(station.id, member_id), keys.daily_pickups(member_id))
    return {"id": found.id, "locker_no": found.locker_no, "collected_at": at}
