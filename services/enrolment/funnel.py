"""A campaign's funnel counters by day in Redis: scans and joins started (joins are counted in SQL).

Raw scans count every GET of the join page, so anyone can inflate them by reloading; unions report
conversion, so alongside the raw hits each day keeps the unique scanners in a HyperLogLog (about 12
KB a day and campaign at most, 0.81 % standard error, and it holds no scanner's identity), and
``scan`` stops counting a scanner past a bound.
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

    def scan(self, campaign_id: str, day: date, scanner: str, *, limit: int, window_seconds: int) -> bool:
        """One scan of the poster by ``scanner`` (the address it came from): counted as a hit and a
        unique scanner while that scanner made at most ``limit`` scans in the window; whether it was.

        A bound on what one scanner adds to the figures, not on the join page: couriers at one
        station often share one address, and each of them must still be able to open it. One round
        trip: the counts go with the scanner's own counter, and the rare scan past the bound takes
        its hit back (its unique-scanner entry was there already, from the scans within the bound).
        """
        seen_key = keys.scan_source(scanner)
        hits, scanners = keys.campaign_funnel(campaign_id, day), keys.campaign_scanners(campaign_id, day)
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.incr(seen_key)
            pipe.expire(seen_key, window_seconds, nx=True)
            pipe.hincrby(hits, "scans", 1)
            pipe.expire(hits, RETENTION_SECONDS)
            pipe.pfadd(scanners, scanner)
            pipe.expire(scanners, RETENTION_SECONDS)
            seen = pipe.execute()[0]
            if seen > limit:
                self.client.hincrby(hits, "scans", -1)
                return False
        except redis.RedisError:  # counting is telemetry: the poster's page must still open
            log.warning("could not count a scan for campaign %s", campaign_id, exc_info=True)
        return True

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
