"""A campaign's funnel counters by day in Redis: scans and joins started (joins are counted in SQL).

Raw scans count every GET of the join page, so anyone can inflate them by reloading; unions report
conversion, so alongside the raw hits each day keeps the unique scanners in a HyperLogLog (about 12
KB a day and campaign at most, 0.81 % standard error, and it holds no scanner's identity), and
``source_within_bound`` lets the caller stop counting a source past a bound.
"""

from __future__ import annotations

import logging
from datetime import date

import redis

from . import keys

log = logging.getLogger(__name__)

RETENTION_SECONDS = 400 * 86400  # a year of statistics, and a little more
UNIQUE_SCANS = "unique_scans"


class Funnel:
    def __init__(self, client: redis.Redis):
        self.client = client

    def count(self, campaign_id: str, counter: str, day: date) -> None:
        key = keys.campaign_funnel(campaign_id, day)
        try:
            pipe = self.client.pipeline()
            pipe.hincrby(key, counter, 1)
            pipe.expire(key, RETENTION_SECONDS)
            pipe.execute()
        except redis.RedisError:  # counting is telemetry: a worker must still be able to join
            log.warning("could not count %s for campaign %s", counter, campaign_id, exc_info=True)

    def scanned(self, campaign_id: str, day: date, scanner: str) -> None:
        """One scan of the poster by ``scanner`` (the WeChat user, or the address of an anonymous one)."""
        hits, scanners = keys.campaign_funnel(campaign_id, day), keys.campaign_scanners(campaign_id, day)
        try:
            pipe = self.client.pipeline()
            pipe.hincrby(hits, "scans", 1)
            pipe.expire(hits, RETENTION_SECONDS)
            pipe.pfadd(scanners, scanner)
            pipe.expire(scanners, RETENTION_SECONDS)
            pipe.execute()
        except redis.RedisError:
            log.warning("could not count a scan for campaign %s", campaign_id, exc_info=True)

    def source_within_bound(self, source: str, *, limit: int, window_seconds: int) -> bool:
        """Count one scan of ``source``; whether it is still within ``limit`` in the window.

        A bound on what a source adds to the figures, not on the join page: couriers at one
        station often share one address, and each of them must still be able to open it.
        """
        key = keys.scan_source(source)
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, window_seconds, nx=True)
            seen, _ = pipe.execute()
        except redis.RedisError:
            log.warning("could not bound the scans of a source", exc_info=True)
            return True
        return seen <= limit

    def by_day(self, campaign_id: str, days: list[date]) -> dict[date, dict[str, int]]:
        """Each day's counters, with the day's unique scanners as ``unique_scans``."""
        pipe = self.client.pipeline()
        for day in days:
            pipe.hgetall(keys.campaign_funnel(campaign_id, day))
            pipe.pfcount(keys.campaign_scanners(campaign_id, day))
        answers = pipe.execute()
        counters = {}
        for day, raw, unique in zip(days, answers[::2], answers[1::2], strict=True):
            counters[day] = {**{k.decode(): int(v) for k, v in raw.items()}, UNIQUE_SCANS: unique}
        return counters
