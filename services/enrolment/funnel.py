"""A campaign's funnel counters by day in Redis: scans and joins started (joins are counted in SQL)."""

from __future__ import annotations

import logging
from datetime import date

import redis

from . import keys

log = logging.getLogger(__name__)

RETENTION_SECONDS = 400 * 86400  # a year of statistics, and a little more


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

    def by_day(self, campaign_id: str, days: list[date]) -> dict[date, dict[str, int]]:
        pipe = self.client.pipeline()
        for day in days:
            pipe.hgetall(keys.campaign_funnel(campaign_id, day))
        return {
            day: {k.decode(): int(v) for k, v in raw.items()}
            for day, raw in zip(days, pipe.execute(), strict=True)
        }
