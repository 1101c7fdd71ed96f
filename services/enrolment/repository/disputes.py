"""Identity disputes over a membership."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from services.common.clock import utc

from .. import tables
from ..model import OPEN, Dispute


def dispute_from_row(row) -> Dispute:
    return Dispute(row.id, row.member_id, row.status, row.claimant_openid, utc(row.opened_at))


def open_dispute_of(conn: Connection, member_id: str, claimant_openid: str) -> Dispute | None:
    d = tables.disputes.c
    row = conn.execute(
        select(tables.disputes).where(
            d.member_id == member_id, d.claimant_openid == claimant_openid, d.status == OPEN
        )
    ).first()
    return dispute_from_row(row) if row else None


def open_claims_of(conn: Connection, claimant_openid: str) -> list[Dispute]:
    """The open disputes this WeChat user raised as claimant, locked in id order."""
    d = tables.disputes.c
    query = select(tables.disputes).where(d.claimant_openid == claimant_openid, d.status == OPEN)
    return [dispute_from_row(row) for row in conn.execute(query.order_by(d.id).with_for_update())]


def add_dispute(conn: Connection, dispute: Dispute, claimant: dict, *, campaign_id: str) -> None:
    """A new open dispute; ``claimant`` holds the claimant's name, encrypted mobile and job."""
    conn.execute(
        tables.disputes.insert().values(
            id=dispute.id,
            member_id=dispute.member_id,
            campaign_id=campaign_id,
            status=dispute.status,
            claimant_openid=dispute.claimant_openid,
            opened_at=dispute.opened_at,
            **claimant,
        )
    )


def dispute_row(conn: Connection, dispute_id: str, *, for_update: bool = False):
    query = select(tables.disputes).where(tables.disputes.c.id == dispute_id)
    return conn.execute(query.with_for_update() if for_update else query).first()


def close_dispute(conn: Connection, dispute: Dispute, *, actor: str, at: datetime) -> None:
    """Record the outcome and wipe the claimant's details: they were needed only to decide."""
    conn.execute(
        update(tables.disputes)
        .where(tables.disputes.c.id == dispute.id)
        .values(
            status=dispute.status,
            claimant_openid=None,
            claimant_name=None,
            claimant_mobile_enc=None,
            claimant_mobile_masked=None,
            claimant_employer=None,
            claimant_occupation=None,
            resolved_at=at,
            resolved_by=actor,
        )
    )


def claimants_under_old_key(conn: Connection, current_kid: str, limit: int):
    """Open disputes whose claimant's mobile is still encrypted under an old PII key, locked until
    the transaction ends."""
    d = tables.disputes.c
    return conn.execute(
        select(d.id, d.claimant_mobile_enc)
        .where(d.claimant_mobile_enc.is_not(None))
        .where(~d.claimant_mobile_enc.startswith(f"{current_kid}:"))
        .order_by(d.id)  # locked in id order, as an erasure locks a claimant's: no deadlock
        .limit(limit)
        .with_for_update(key_share=True)
    ).all()


def set_claimant_mobile(conn: Connection, dispute_id: str, mobile_enc: str) -> None:
    d = tables.disputes
    conn.execute(update(d).where(d.c.id == dispute_id).values(claimant_mobile_enc=mobile_enc))
