"""Fixed-window rate limits in Redis, shared by every instance of a service."""

from __future__ import annotations

import redis

from .domain import RateLimited


def hit(client: redis.Redis, key: str, *, limit: int, window_seconds: int) -> None:
    """Count one attempt against ``key``; raise RateLimited past ``limit`` in the window."""
    # One round trip without MULTI/EXEC: EXPIRE NX cannot undo another client's INCR in between.
    pipe = client.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, window_seconds, nx=True)
    count, _ = pipe.execute()
    if count > limit:
        raise RateLimited(retry_after=max(client.ttl(key), 1))
