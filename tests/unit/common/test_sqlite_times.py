"""SQLite stores a datetime as text without its offset: an aware time is stored as UTC, so one sent
as Shanghai time (+08:00, as the console's forms send it) reads back as the same instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, insert, select
from sqlalchemy.engine import make_url

from services.common.clock import utc
from services.common.sqlite import make_engine

SHANGHAI_OFFSET = timezone(timedelta(hours=8))


def test_an_aware_time_is_stored_as_utc_and_reads_back_as_the_same_instant(tmp_path):
    metadata = MetaData()
    terms = Table(
        "terms",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("opens_at", DateTime(timezone=True)),
    )
    engine = make_engine(make_url(f"sqlite:///{tmp_path}/times.db"))
    metadata.create_all(engine)
    typed = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI_OFFSET)
    naive_utc = datetime(2026, 12, 1, 1, 0)  # what the services write: UTC, already without offset
    with engine.begin() as conn:
        conn.execute(insert(terms), [{"id": 1, "opens_at": typed}, {"id": 2, "opens_at": naive_utc}])
    with engine.connect() as conn:
        rows = dict(conn.execute(select(terms.c.id, terms.c.opens_at)).all())
    engine.dispose()

    assert utc(rows[1]) == typed == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert rows[2] == naive_utc
