"""Prometheus counters of the bus, shared by every worker."""

from prometheus_client import Counter

EVENTS_CONSUMED = Counter(
    "unionhub_events_consumed_total", "Events seen by a consumer, by outcome", ["consumer", "type", "outcome"]
)
EVENTS_DEAD_LETTERED = Counter(
    "unionhub_events_dead_lettered_total", "Events sent to a dead-letter topic", ["consumer", "type", "kind"]
)
