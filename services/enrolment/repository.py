"""Queries several use cases share, and the mapping of rows to domain objects.

Use cases write their own rows (service.py); read-only list views query directly (api.py), as a
read side that needs no domain objects.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Connection, and_, false, or_, select, update

from events.store import insert_on_conflict

from . import db
from .model import CURRENT_STATUSES, Campaign, Member, Unit


def unit_from_row(row) -> Unit:
    return Unit(row.id, row.name, row.kind, row.parent_id, row.path, row.requires_approval)


def utc(value: datetime | None) -> datetime | None:
    """Datetimes come back from SQLite without their offset; everything is stored in UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def campaign_from_row(row) -> Campaign:
    return Campaign(row.id, row.unit_id, row.name, row.site, row.code, row.status, utc(row.expires_at))


def member_from_row(row) -> Member:
    return Member(
        id=row.id,
        unit_id=row.unit_id,
        status=row.status,
        card_no=row.card_no,
        campaign_id=row.campaign_id,
        employer=row.employer,
        occupation=row.occupation,
        joined_at=utc(row.joined_at),
    )


def within(scope_paths: list[str]):
    """SQL condition: the unit (``units`` joined in) lies in one of these subtrees."""
    return or_(false(), *(db.units.c.path.startswith(path, autoescape=True) for path in scope_paths))


def unit(conn: Connection, unit_id: str) -> Unit | None:
    row = conn.execute(select(db.units).where(db.units.c.id == unit_id)).first()
    return unit_from_row(row) if row else None


def units_by_ids(conn: Connection, ids) -> list[Unit]:
    return [unit_from_row(r) for r in conn.execute(select(db.units).where(db.units.c.id.in_(list(ids))))]


def root_unit(conn: Connection) -> Unit | None:
    row = conn.execute(
        select(db.units).where(db.units.c.parent_id.is_(None)).order_by(db.units.c.created_at)
    ).first()
    return unit_from_row(row) if row else None


def add_unit(conn: Connection, unit: Unit, at) -> None:
    conn.execute(
        db.units.insert().values(
            id=unit.id,
            name=unit.name,
            kind=unit.kind,
            parent_id=unit.parent_id,
            path=unit.path,
            requires_approval=unit.requires_approval,
            created_at=at,
        )
    )


def campaign(conn: Connection, campaign_id: str) -> Campaign | None:
    row = conn.execute(select(db.campaigns).where(db.campaigns.c.id == campaign_id)).first()
    return campaign_from_row(row) if row else None


def campaign_by_code(conn: Connection, code: str) -> Campaign | None:
    row = conn.execute(select(db.campaigns).where(db.campaigns.c.code == code)).first()
    return campaign_from_row(row) if row else None


def member(conn: Connection, member_id: str, *, for_update: bool = False) -> Member | None:
    query = select(db.members).where(db.members.c.id == member_id)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    return member_from_row(row) if row else None


def member_row(conn: Connection, member_id: str):
    return conn.execute(select(db.members).where(db.members.c.id == member_id)).first()


def current_member(conn: Connection, *, id_hash: str | None = None, openid: str | None = None):
    """The current (pending, active or suspended) membership of a person, found by ID hash or openid."""
    m = db.members.c
    match = []
    if id_hash:
        match.append(m.id_hash == id_hash)
    if openid:
        match.append(m.openid == openid)
    if not match:
        return None
    return conn.execute(select(db.members).where(and_(or_(*match), m.status.in_(CURRENT_STATUSES)))).first()


def save_member_state(conn: Connection, member: Member, at) -> None:
    conn.execute(
        update(db.members)
        .where(db.members.c.id == member.id)
        .values(status=member.status, unit_id=member.unit_id, updated_at=at)
    )


# Counter rows are created by the first writer. Update-else-insert races when two first writers
# meet (on PostgreSQL both see no row, one insert fails, and that join was answered with a false
# 409); a single upsert makes the second writer wait for the row and then increment it.


def next_card_serial(conn: Connection, province: str) -> int:
    t = db.card_serials
    return conn.execute(
        insert_on_conflict(conn, t)
        .values(province=province, last_serial=1)
        .on_conflict_do_update(index_elements=[t.c.province], set_={"last_serial": t.c.last_serial + 1})
        .returning(t.c.last_serial)
    ).scalar_one()


def count_join(conn: Connection, campaign_id: str, day: date) -> None:
    t = db.campaign_days
    conn.execute(
        insert_on_conflict(conn, t)
        .values(campaign_id=campaign_id, day=day, joins=1)
        .on_conflict_do_update(index_elements=[t.c.campaign_id, t.c.day], set_={"joins": t.c.joins + 1})
    )


def joins_by_day(conn: Connection, campaign_id: str) -> dict[date, int]:
    t = db.campaign_days
    return {r.day: r.joins for r in conn.execute(select(t).where(t.c.campaign_id == campaign_id))}
