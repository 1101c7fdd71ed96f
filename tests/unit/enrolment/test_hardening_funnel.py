"""Scan counts that reloading cannot inflate (issue 8, item 8): unique scanners and a per-source bound."""

from datetime import date

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from services.enrolment.funnel import UNIQUE_SCANS, Funnel

DAY = date(2026, 11, 29)
UNBOUNDED = {"limit": 10**6, "window_seconds": 3600}


def test_200_scans_by_one_scanner_are_200_hits_and_one_unique_scan(clean_redis):
    funnel = Funnel(clean_redis)
    for _ in range(200):
        funnel.scan("c-1", DAY, "203.0.113.9", **UNBOUNDED)

    assert funnel.by_day("c-1", [DAY])[DAY] == {"scans": 200, UNIQUE_SCANS: 1}


def test_unique_scanners_are_counted_per_campaign_and_day(clean_redis):
    funnel = Funnel(clean_redis)
    for i in range(50):
        funnel.scan("c-1", DAY, f"wx:openid-{i}", **UNBOUNDED)
        funnel.scan("c-1", DAY, f"wx:openid-{i}", **UNBOUNDED)
    funnel.scan("c-2", DAY, "wx:openid-0", **UNBOUNDED)
    funnel.scan("c-1", date(2026, 11, 30), "wx:openid-0", **UNBOUNDED)

    counts = funnel.by_day("c-1", [DAY, date(2026, 11, 30), date(2026, 12, 1)])

    assert counts[DAY] == {"scans": 100, UNIQUE_SCANS: 50}
    assert counts[date(2026, 11, 30)] == {"scans": 1, UNIQUE_SCANS: 1}
    assert counts[date(2026, 12, 1)] == {UNIQUE_SCANS: 0}
    assert funnel.by_day("c-2", [DAY])[DAY][UNIQUE_SCANS] == 1


def test_joins_started_are_still_counted_beside_scans(clean_redis):
    funnel = Funnel(clean_redis)
    funnel.scan("c-1", DAY, "wx:o-1", **UNBOUNDED)
    funnel.count("c-1", "started", DAY)

    assert funnel.by_day("c-1", [DAY])[DAY] == {"scans": 1, "started": 1, UNIQUE_SCANS: 1}


def test_a_scanner_counts_up_to_its_bound_and_others_are_not_affected(clean_redis):
    funnel = Funnel(clean_redis)

    counted = [funnel.scan("c-1", DAY, "203.0.113.9", limit=20, window_seconds=3600) for _ in range(25)]

    assert counted == [True] * 20 + [False] * 5
    assert funnel.by_day("c-1", [DAY])[DAY] == {"scans": 20, UNIQUE_SCANS: 1}
    assert funnel.scan("c-1", DAY, "198.51.100.1", limit=20, window_seconds=3600)
    assert 0 < clean_redis.ttl("enrolment:scan_source:203.0.113.9") <= 3600


def test_counting_without_redis_is_skipped_not_an_error():
    down = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    funnel = Funnel(down)

    assert funnel.scan("c-1", DAY, "wx:o-1", limit=1, window_seconds=60)
