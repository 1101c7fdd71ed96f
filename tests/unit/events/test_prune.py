"""Housekeeping of the bus tables: old sent outbox rows and old inbox rows go, the rest stays."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import MetaData, func, select

from events.store import prune
from services.common.db import Database


def test_prune_keeps_unsent_and_recent_rows(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/bus.db", MetaData())
    db.create_all()
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=40), now - timedelta(days=1)
    row = {"topic": "members", "key": "m", "type": "t", "headers": "[]", "payload": "{}", "created_at": old}
    with db.engine.begin() as conn:
        conn.execute(
            db.outbox.insert(),
            [
                {**row, "event_id": "sent-long-ago", "sent_at": old},
                {**row, "event_id": "sent-yesterday", "sent_at": recent},
                {**row, "event_id": "never-sent", "sent_at": None},
            ],
        )
        conn.execute(
            db.inbox.insert(),
            [
                {"consumer": "c", "event_id": "seen-long-ago", "event_type": "t", "processed_at": old},
                {"consumer": "c", "event_id": "seen-yesterday", "event_type": "t", "processed_at": recent},
            ],
        )

    assert prune(db.engine, db.outbox, db.inbox, now - timedelta(days=30)) == (1, 1)

    with db.engine.connect() as conn:
        assert set(conn.execute(select(db.outbox.c.event_id)).scalars()) == {"sent-yesterday", "never-sent"}
        assert conn.execute(select(func.count()).select_from(db.inbox)).scalar_one() == 1
