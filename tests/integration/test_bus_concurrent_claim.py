"""Two instances of one consumer group applying the same event at the same moment (a rebalance):
on PostgreSQL the second waits on the first's inbox claim and then skips the event."""

import threading
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from events.catalogue import CATALOGUE
from events.dispatch import Dispatcher, Outcome
from events.envelope import Event
from schemas.events.members import APPROVED
from services.common.db import Database, drop_database

pytestmark = pytest.mark.integration

ADMIN_URL = "postgresql+psycopg://unionhub:unionhub@127.0.0.1:55432/postgres"


@pytest.fixture
def database():
    name = f"unionhub_claim_{uuid.uuid4().hex[:8]}"
    metadata = MetaData()
    Table("approvals", metadata, Column("id", Integer, primary_key=True), Column("member_id", String(36)))
    db = Database(f"postgresql+psycopg://unionhub:unionhub@127.0.0.1:55432/{name}", metadata, CATALOGUE)
    db.create_all()
    yield db
    db.engine.dispose()
    drop_database(ADMIN_URL, name)


def test_the_second_instance_waits_for_the_first_and_applies_nothing(database):
    approvals = database.metadata.tables["approvals"]
    first_inside, release = threading.Event(), threading.Event()

    def slow(event, uow):  # the first instance is still inside its transaction...
        uow.connection.execute(approvals.insert().values(member_id=event.subject))
        first_inside.set()
        release.wait(10)

    def quick(event, uow):
        uow.connection.execute(approvals.insert().values(member_id=event.subject))

    event = Event(
        type=APPROVED,
        source="/test",
        subject="m-1",
        data={"member_id": "m-1", "branch_id": "b-1", "occurred_at": datetime.now(UTC).isoformat()},
    )
    outcomes = {}

    def deliver(name, handler):
        d = Dispatcher("group", {APPROVED: handler}, CATALOGUE, database.unit_of_work, database.inbox)
        outcomes[name] = d.deliver(event)[0]

    first = threading.Thread(target=deliver, args=("first", slow))
    first.start()
    assert first_inside.wait(10)
    second = threading.Thread(target=deliver, args=("second", quick))
    second.start()
    second.join(1.0)
    assert second.is_alive(), "the second instance must wait on the first one's claim"
    release.set()  # ...and commits
    first.join(10)
    second.join(10)

    assert outcomes == {"first": Outcome.APPLIED, "second": Outcome.DUPLICATE}
    with database.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(approvals)).scalar_one() == 1
