"""Locker deposits: one item per locker until collected."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select, update

from .. import tables

dp = tables.deposits


def occupied(conn: Connection, station_id: str) -> set[int]:
    rows = conn.execute(
        select(dp.c.locker_no).where(dp.c.station_id == station_id, dp.c.collected_at.is_(None))
    )
    return set(rows.scalars())


def deposits_held(conn: Connection, station_id: str, member_id: str) -> int:
    held = select(func.count()).where(
        dp.c.station_id == station_id, dp.c.member_id == member_id, dp.c.collected_at.is_(None)
    )
    return conn.execute(held).scalar_one()


def add_deposit(conn: Connection, **values) -> None:
    conn.execute(dp.insert().values(**values))


def deposit_by_code(conn: Connection, station_id: str, code_hash: str):
    return conn.execute(
        select(dp)
        .where(dp.c.station_id == station_id, dp.c.code_hash == code_hash, dp.c.collected_at.is_(None))
        .with_for_update()
    ).first()


def collect(conn: Connection, deposit_id: str, by: str, at: datetime) -> None:
    conn.execute(update(dp).where(dp.c.id == deposit_id).values(collected_at=at, collected_by=by))


def flag_left_behind(conn: Connection, station_id: str, at: datetime) -> int:
    return conn.execute(
        update(dp)
        .where(dp.c.station_id == station_id, dp.c.collected_at.is_(None), dp.c.flagged_at.is_(None))
        .values(flagged_at=at)
    ).rowcount
