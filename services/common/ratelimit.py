"""Fixed-window rate limits in Redis, shared by every instance of a service.

A rate limit protects capacity, not correctness: when Redis does not answer, a check lets the
request through and counts that it did (``unionhub_rate_limit_failed_open_total``), so an outage of
Redis slows nobody down and shows on a dashboard. Checks that guard correctness (single-use codes)
do the opposite and refuse.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NoReturn

import redis
from prometheus_client import Counter

from .domain import RateLimited

log = logging.getLogger(__name__)

FAILED_OPEN = Counter(
    "unionhub_rate_limit_failed_open_total", "Rate-limit checks let through because Redis did not answer"
)


@contextmanager
def failing_open(what: str) -> Iterator[None]:
    """Run a rate-limit step; a Redis error lets the request through, logged and counted."""
    try:
        yield
    except redis.RedisError:
        FAILED_OPEN.inc()
        log.warning("rate limit %s skipped: Redis did not answer", what, exc_info=True)


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` attempts against ``key`` in each window of ``window_seconds``."""

    key: str
    limit: int
    window_seconds: int


def hit(client: redis.Redis, key: str, *, limit: int, window_seconds: int) -> None:
    """Count one attempt against ``key``; raise RateLimited past ``limit`` in the window."""
    with failing_open(key):
        guard(client, key, limit=limit, window_seconds=window_seconds)


def guard(client: redis.Redis, key: str, *, limit: int, window_seconds: int) -> None:
    """``hit`` for a limit that is all that stands between a guesser and a short secret (a locker's
    pickup code): a Redis error is raised (503), as a single-use check's is, not let through."""
    window = Limit(key, limit, window_seconds)
    pipe = client.pipeline(transaction=False)
    counting(pipe, window)
    count, _ = pipe.execute()
    refuse_past(client, window, count)


# DECR only within a window: on a key whose window ended it would start a count with no expiry.
_GIVE_BACK = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end return 0"


def give_back(client: redis.Redis, *keys: str) -> None:
    """Uncount one attempt of each of ``guard``'s ``keys``: for a limit on the wrong guesses, an
    attempt that was right. A Redis error only leaves the attempt counted, which errs the safe way."""
    pipe = client.pipeline(transaction=False)  # one round trip for every key
    for key in keys:
        pipe.eval(_GIVE_BACK, 1, key)
    try:
        pipe.execute()
    except redis.RedisError:
        log.warning("rate limit %s: a right attempt stays counted, Redis did not answer", keys, exc_info=True)


def counting(pipe, limit: Limit) -> None:
    """Queue one attempt on ``pipe`` (a pipeline without MULTI/EXEC: EXPIRE NX cannot undo another
    client's INCR in between); the count is the first of the two answers it adds. For a caller
    that sends its own commands in the same round trip."""
    pipe.incr(limit.key)
    pipe.expire(limit.key, limit.window_seconds, nx=True)


def refuse_past(client: redis.Redis, limit: Limit, count: int) -> None:
    """``refuse`` when ``count`` (``counting``'s) is past the limit."""
    if count > limit.limit:
        refuse(client, limit)


def refuse(client: redis.Redis, limit: Limit) -> NoReturn:
    """RateLimited, with the seconds left of ``limit``'s window."""
    raise RateLimited(retry_after=max(client.ttl(limit.key), 1))
