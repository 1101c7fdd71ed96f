"""Prometheus metrics of the bus, shared by every worker.

What to alert on: an outbox backlog, or the age of its oldest row, that keeps growing (the relay
cannot reach Kafka); consumer lag that keeps growing (a consumer is stuck or too slow); any dead
letter; a loop heartbeat that stops moving (a worker loop is wedged).
"""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_CONSUMED = Counter(
    "unionhub_events_consumed_total", "Events seen by a consumer, by outcome", ["consumer", "type", "outcome"]
)
EVENTS_DEAD_LETTERED = Counter(
    "unionhub_events_dead_lettered_total", "Events sent to a dead-letter topic", ["consumer", "type", "kind"]
)
CONSUMER_BATCH_SECONDS = Histogram(
    "unionhub_consumer_batch_seconds", "Time to apply one poll batch of events", ["consumer"]
)
CONSUMER_LAG = Gauge(
    "unionhub_consumer_lag",
    "Records between the consumer's position and the end of the partition, as of its latest batch",
    ["consumer", "topic", "partition"],
)
OUTBOX_PUBLISHED = Counter(
    "unionhub_outbox_published_total", "Outbox rows acknowledged by Kafka and marked sent", ["service"]
)
OUTBOX_BACKLOG = Gauge("unionhub_outbox_backlog", "Outbox rows not yet acknowledged by Kafka", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "unionhub_outbox_oldest_unsent_age_seconds",
    "Age of the oldest outbox row not yet acknowledged by Kafka (0 when there is none)",
    ["service"],
)
LOOP_HEARTBEAT = Gauge(
    "unionhub_worker_loop_heartbeat_timestamp_seconds",
    "When a worker loop last went round; a wedged loop stops moving it",
    ["service", "loop"],
)
