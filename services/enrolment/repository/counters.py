"""Counters: card serials and joins per campaign and day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, Sequence, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from services.common import sql

from .. import tables

# Counter rows are created by the first writer. Update-else-insert races when two first writers
# meet (on PostgreSQL both see no row, one insert fails, and that join was answered with a false
# 409); a single upsert makes the second writer wait for the row and then increment it.
#
# Every join through one poster on one day updates the same counter row and holds it until COMMIT:
# a join counts itself last (service.py). Statements built once, per dialect.


def _count_join(dialect):
    t = tables.campaign_days
    return (
        dialect.insert(t)
        .values(campaign_id=bindparam("campaign_id"), day=bindparam("day"), joins=1)
        .on_conflict_do_update(index_elements=[t.c.campaign_id, t.c.day], set_={"joins": t.c.joins + 1})
    )


_COUNT_JOIN = {"postgresql": _count_join(postgresql), "sqlite": _count_join(sqlite)}

# PostgreSQL: one sequence serving every province (migration 7523ba8c0d42 says why). The province's
# row was a lock every join of the province queued on until COMMIT; nextval holds none. It is not
# in tables.metadata: the migration makes it, and SQLite has none.
_NEXT_SERIAL = select(Sequence("card_serial_seq").next_value())
# SQLite: the province's row. Write transactions there hold the whole database, so it adds no wait.
_SERIALS = tables.card_serials
_NEXT_SERIAL_SQLITE = (
    sqlite.insert(_SERIALS)
    .values(province=bindparam("province"), last_serial=1)
    .on_conflict_do_update(
        index_elements=[_SERIALS.c.province], set_={"last_serial": _SERIALS.c.last_serial + 1}
    )
    .returning(_SERIALS.c.last_serial)
)


def next_card_serial(conn: Connection, province: str) -> int:
    """The next card serial: unique and increasing; on PostgreSQL a rolled-back join leaves a gap."""
    if conn.dialect.name == "postgresql":
        return sql.fetch(conn, _NEXT_SERIAL, {})[0][0]
    return conn.execute(_NEXT_SERIAL_SQLITE, {"province": province}).scalar_one()


def count_join(conn: Connection, campaign_id: str, day: date) -> None:
    sql.fetch(conn, *counting_join(conn, campaign_id, day))


def counting_join(conn: Connection, campaign_id: str, day: date) -> tuple:
    """``count_join``'s statement and parameters, to send with the join's other writes."""
    return _COUNT_JOIN[conn.dialect.name], {"campaign_id": campaign_id, "day": day}


def joins_by_day(conn: Connection, campaign_id: str) -> dict[date, int]:
    t = tables.campaign_days
    return {r.day: r.joins for r in conn.execute(select(t).where(t.c.campaign_id == campaign_id))}
