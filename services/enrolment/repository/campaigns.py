"""QR enrolment campaigns, and a campaign read together with its branch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from services.common import sql
from services.common.clock import utc

from .. import tables
from ..model import Campaign, Unit
from .rows import campaign_from_row


def campaign(conn: Connection, campaign_id: str) -> Campaign | None:
    row = conn.execute(select(tables.campaigns).where(tables.campaigns.c.id == campaign_id)).first()
    return campaign_from_row(row) if row else None


def campaign_by_code(conn: Connection, code: str) -> Campaign | None:
    row = conn.execute(select(tables.campaigns).where(tables.campaigns.c.code == code)).first()
    return campaign_from_row(row) if row else None


# The scan page and every join read a campaign with its unit: one statement, built once (building a
# statement per call cost about as much as running it, docs/benchmarks.md).
_UNIT_COLUMNS = [c.label(f"u_{c.name}") for c in tables.units.c]
_CAMPAIGN_WITH_UNIT = (
    select(tables.campaigns, *_UNIT_COLUMNS)
    .join_from(tables.campaigns, tables.units, tables.units.c.id == tables.campaigns.c.unit_id)
    .where(tables.campaigns.c.code == bindparam("code"))
)


def campaign_with_unit(conn: Connection, code: str) -> tuple[Campaign, Unit] | None:
    found = sql.fetch(conn, _CAMPAIGN_WITH_UNIT, {"code": code})
    if not found:
        return None
    row = found[0]
    unit = Unit(row.u_id, row.u_name, row.u_kind, row.u_parent_id, row.u_path, row.u_requires_approval)
    return campaign_from_row(row), unit


def campaign_created_at(conn: Connection, campaign_id: str) -> datetime:
    t = tables.campaigns
    return utc(conn.execute(select(t.c.created_at).where(t.c.id == campaign_id)).scalar_one())


def add_campaign(conn: Connection, campaign: Campaign, *, actor: str, at: datetime) -> None:
    conn.execute(
        tables.campaigns.insert().values(
            id=campaign.id,
            unit_id=campaign.unit_id,
            name=campaign.name,
            site=campaign.site,
            code=campaign.code,
            status=campaign.status,
            expires_at=campaign.expires_at,
            created_by=actor,
            created_at=at,
        )
    )


def revoke_campaign(conn: Connection, campaign_id: str, at: datetime) -> None:
    t = tables.campaigns
    conn.execute(update(t).where(t.c.id == campaign_id).values(status="revoked", revoked_at=at))
