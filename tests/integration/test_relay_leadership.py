"""One relay publishes a database's outbox at a time, also when the leader's session ends under it
(a PostgreSQL restart ends every session and with it the advisory lock): the relay that lost it
stops publishing and waits its turn, instead of publishing beside the one that took the lock."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, text

from events.catalogue import CATALOGUE
from events.envelope import Event
from events.relay import Relay
from schemas.events.members import APPROVED
from services.common.db import Database
from tests.support import fresh_postgres_database

pytestmark = pytest.mark.integration


class Acknowledged:
    def get(self, timeout=None):
        return None


class RecordingProducer:
    """Stands in for the broker: this test is about which relay sends, not about Kafka."""

    def __init__(self, name: str, sent: list):
        self.name, self.sent = name, sent

    def send(self, topic, key, value, headers):
        self.sent.append((self.name, key.decode()))
        return Acknowledged()

    def flush(self, timeout=None):
        pass

    def close(self, timeout=None):
        pass


def _record(db: Database, subject: str) -> None:
    event = Event(
        type=APPROVED,
        source="/test",
        subject=subject,
        data={"member_id": subject, "branch_id": "b-1", "occurred_at": datetime.now(UTC)},
    )
    with db.unit_of_work() as uow:
        uow.record(event)
        uow.commit()


def _wait(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def db():
    with fresh_postgres_database("relay") as url:
        database = Database(url, MetaData(), CATALOGUE)
        yield database
        database.engine.dispose()


def test_a_relay_whose_session_ended_stops_publishing_and_one_relay_leads(db):
    db.create_all()
    sent: list[tuple[str, str]] = []
    relays = {
        name: Relay(db.engine, db.outbox, lambda name=name: RecordingProducer(name, sent), service="test")
        for name in ("first", "second")
    }
    stop = threading.Event()
    threads = [
        threading.Thread(target=relay.run, args=(stop,), kwargs={"max_backoff": 0.2})
        for relay in relays.values()
    ]
    threads[0].start()
    try:
        assert _wait(lambda: relays["first"]._leader is not None)
        threads[1].start()
        _record(db, "before")
        assert _wait(lambda: len(sent) == 1)

        # The first relay's session ends, as in a database restart.
        with db.engine.connect() as admin:
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks"
                    " WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                )
            )
            admin.commit()
        assert _wait(lambda: sum(r._leader is not None for r in relays.values()) == 1)
        time.sleep(1.5)  # both have asked for the lock again by now (each asks every second)
        assert sum(r._leader is not None for r in relays.values()) == 1
        subjects = [f"after-{i}" for i in range(200)]
        for subject in subjects:
            _record(db, subject)
        assert _wait(lambda: {key for _, key in sent} >= set(subjects))
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)

    after = [(name, key) for name, key in sent if key.startswith("after-")]
    assert len(after) == len(subjects), "a row was published twice: two relays published at once"
    assert len({name for name, _ in after}) == 1
