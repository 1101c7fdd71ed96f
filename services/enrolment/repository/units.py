"""The tree of union units."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from .. import tables
from ..model import Unit
from .rows import unit_from_row


def unit(conn: Connection, unit_id: str) -> Unit | None:
    row = conn.execute(select(tables.units).where(tables.units.c.id == unit_id)).first()
    return unit_from_row(row) if row else None


def units_by_ids(conn: Connection, ids) -> list[Unit]:
    query = select(tables.units).where(tables.units.c.id.in_(list(ids)))
    return [unit_from_row(r) for r in conn.execute(query)]


def root_unit(conn: Connection) -> Unit | None:
    row = conn.execute(
        select(tables.units).where(tables.units.c.parent_id.is_(None)).order_by(tables.units.c.created_at)
    ).first()
    return unit_from_row(row) if row else None


def add_unit(conn: Connection, unit: Unit, at: datetime) -> None:
    conn.execute(
        tables.units.insert().values(
            id=unit.id,
            name=unit.name,
            kind=unit.kind,
            parent_id=unit.parent_id,
            path=unit.path,
            requires_approval=unit.requires_approval,
            created_at=at,
        )
    )
