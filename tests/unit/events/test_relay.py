"""The relay against a stand-in producer: what it marks sent, and the metrics an operator watches."""

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import MetaData, select

from events.relay import Relay
from services.common.db import Database


class Acknowledgement:
    def __init__(self, error: Exception | None):
        self.error = error

    def get(self, timeout=None):
        if self.error is not None:
            raise self.error


class Producer:
    """Acknowledges every record except the ones whose key is in ``refuse``."""

    def __init__(self, refuse=()):
        self.refuse = set(refuse)
        self.sent = []

    def send(self, topic, *, key, value, headers):
        self.sent.append(key.decode())
        return Acknowledgement(RuntimeError("not acknowledged") if key.decode() in self.refuse else None)

    def flush(self, timeout=None):
        pass

    def close(self, timeout=None):
        pass


@pytest.fixture
def db(tmp_path) -> Database:
    database = Database(f"sqlite:///{tmp_path}/relay.db", MetaData())
    database.create_all()
    return database


def add_rows(db: Database, keys: list[str], *, created_at: datetime, sent_at: datetime | None = None):
    with db.engine.begin() as conn:
        conn.execute(
            db.outbox.insert(),
            [
                {
                    "event_id": f"e-{key}",
                    "topic": "members",
                    "key": key,
                    "type": "t",
                    "headers": "[]",
                    "payload": "{}",
                    "created_at": created_at,
                    "sent_at": sent_at,
                }
                for key in keys
            ],
        )


def unsent(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        return list(
            conn.execute(
                select(db.outbox.c.key).where(db.outbox.c.sent_at.is_(None)).order_by(db.outbox.c.seq)
            ).scalars()
        )


def sample(name: str, service: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"service": service})


def test_acknowledged_rows_are_marked_sent_and_counted_up_to_the_first_refusal(db):
    add_rows(db, ["a", "b", "c", "d"], created_at=datetime.now(UTC))
    producer = Producer(refuse={"c"})
    relay = Relay(db.engine, db.outbox, lambda: producer, service="relay-refusal")

    assert relay.publish_batch() == 2

    assert producer.sent == ["a", "b", "c", "d"]
    assert unsent(db) == ["c", "d"]  # d was acknowledged, but stays behind c to keep the order
    assert sample("unionhub_outbox_published_total", "relay-refusal") == 2


def test_backlog_gauges_count_unsent_rows_and_the_age_of_the_oldest(db):
    now = datetime.now(UTC)
    add_rows(db, ["old", "new"], created_at=now - timedelta(minutes=10))
    add_rows(db, ["done"], created_at=now - timedelta(hours=1), sent_at=now - timedelta(hours=1))
    relay = Relay(db.engine, db.outbox, Producer, service="relay-backlog", backlog_interval=5)

    relay.observe_backlog(now=100.0)

    assert sample("unionhub_outbox_backlog", "relay-backlog") == 2
    assert 600 <= sample("unionhub_outbox_oldest_unsent_age_seconds", "relay-backlog") < 660

    relay.publish_batch()
    relay.observe_backlog(now=102.0)  # within the interval: not read again
    assert sample("unionhub_outbox_backlog", "relay-backlog") == 2
    relay.observe_backlog(now=106.0)
    assert sample("unionhub_outbox_backlog", "relay-backlog") == 0
    assert sample("unionhub_outbox_oldest_unsent_age_seconds", "relay-backlog") == 0
