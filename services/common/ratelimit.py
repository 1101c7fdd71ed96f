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


def hit(client: redis.Redis, key: str, *, limit: int, window_seconds: int) -> None:
    """Count one attempt against ``key``; raise RateLimited past ``limit`` in the window."""
    with failing_open(key):
        # One round trip without MULTI/EXEC: EXPIRE NX cannot undo another client's INCR in between.
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, window_seconds, nx=True)
        count, _ = pipe.execute()
        if count > limit:
            raise RateLimited(retry_after=max(client.ttl(key), 1))
