"""Rows mapped to domain objects, and the SQL condition for an admin's subtrees."""

from __future__ import annotations

from sqlalchemy import false, or_

from services.common.clock import utc

from .. import tables
from ..model import Campaign, Member, Unit


def unit_from_row(row) -> Unit:
    return Unit(row.id, row.name, row.kind, row.parent_id, row.path, row.requires_approval)


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
    return or_(false(), *(tables.units.c.path.startswith(path, autoescape=True) for path in scope_paths))
