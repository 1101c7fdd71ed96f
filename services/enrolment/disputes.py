"""Identity disputes: a verified person joined with an ID number that another WeChat user's current
membership holds (joining.join opens them). The admins of that membership's subtree see them and
decide: keep the membership with its holder, or move it to the claimant.

The claimant proved their name and ID number with the identity provider and their mobile with an
SMS code; the holder may have joined before joins were verified. Either way a person decides, and
the decision is audited.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from schemas import names
from services.common import audit
from services.common.clock import now, utc
from services.common.db import UnitOfWork
from services.common.domain import Conflict, NotFound

from . import model, pii, repository, tables
from .service import PiiKeys, scope_paths

LIST_LIMIT = 200
# What a move binds to the membership, as the audit row names it.
MOVED_FIELDS = ["openid", "name", "mobile", "employer", "occupation", "consent"]
# The consent version of a claimant whose dispute was opened before claimants' consent was kept.
UNRECORDED_CONSENT = "unrecorded"


def disputes(conn: Connection, admin_units, *, status: str | None = None) -> list[dict]:
    """Disputes over memberships in the admin's subtrees, newest first (scoped in SQL).

    The scope follows the membership, not the campaign the claimant scanned: the admins who run the
    held membership are the ones who can call its holder.
    """
    d, m, u = tables.disputes.c, tables.members.c, tables.units.c
    query = (
        select(
            d.id,
            d.member_id,
            d.status,
            d.claimant_name,
            d.claimant_mobile_masked,
            d.claimant_employer,
            d.claimant_occupation,
            d.opened_at,
            d.resolved_at,
            d.resolved_by,
            m.card_no,
            m.unit_id.label("branch_id"),
            u.name.label("branch"),
        )  # fmt: skip
        .select_from(tables.disputes.join(tables.members).join(tables.units, u.id == m.unit_id))
        .where(repository.within(scope_paths(conn, admin_units)))
        .order_by(d.opened_at.desc())
        .limit(LIST_LIMIT)
    )
    if status:
        query = query.where(d.status == status)
    return [
        {
            **r._mapping,
            "claimant_name": names.mask(r.claimant_name),
            "opened_at": utc(r.opened_at),
            "resolved_at": utc(r.resolved_at),
        }
        for r in conn.execute(query)
    ]


def resolve(
    uow: UnitOfWork, admin_units, dispute_id: str, outcome: str, *, actor: str, pii_keys: PiiKeys
) -> model.Dispute:
    """Keep the membership with its holder, or move it to the claimant; audited either way."""
    with uow:
        conn = uow.connection
        row = repository.dispute_row(conn, dispute_id, for_update=True)
        member = repository.member(conn, row.member_id, for_update=True) if row else None
        unit = repository.unit(conn, member.unit_id) if member else None
        if unit is None or not model.in_scope(unit.path, scope_paths(conn, admin_units)):
            raise NotFound("dispute.not_found")
        dispute = repository.dispute_from_row(row)
        model.resolve(dispute, outcome)
        if dispute.status == model.MOVED:
            _move(uow, row, member, unit, pii_keys)
        repository.close_dispute(conn, dispute, actor=actor, at=now())
        audit.record(
            uow,
            tables.audit_log,
            actor=actor,
            action=f"dispute_{outcome}",
            subject=member.id,
            fields=MOVED_FIELDS if dispute.status == model.MOVED else [],
        )
        uow.commit()
    return dispute


def _move(uow: UnitOfWork, row, member: model.Member, unit: model.Unit, pii_keys: PiiKeys) -> None:
    conn = uow.connection
    event_type, payload = model.reassign(member, unit)
    if repository.current_member(conn, openid=row.claimant_openid) is not None:
        raise Conflict("dispute.claimant_is_member")
    mobile = pii.decrypt(pii_keys.pii, row.claimant_mobile_enc, associated_data=row.id.encode())
    personal = {
        "openid": row.claimant_openid,
        "name": row.claimant_name,
        "mobile_enc": pii.encrypt(pii_keys.pii, mobile, associated_data=member.id.encode()),
        "mobile_masked": row.claimant_mobile_masked,
        "employer": row.claimant_employer,
        "occupation": row.claimant_occupation,
        # The claimant's own consent, not the previous holder's. A dispute opened before the
        # claimant's was kept has none recorded: they consented in the join that opened it.
        "consent_version": row.claimant_consent_version or UNRECORDED_CONSENT,
        "consented_at": row.claimant_consented_at or row.opened_at,
    }
    holder_openid = repository.member_row(conn, member.id).openid
    repository.bind_member(conn, member.id, personal, now())
    # The holder's stored join answers name the membership: replayed with their Idempotency-Key,
    # one would hand them a token for it again (other services go by the token's member id alone).
    if holder_openid:
        repository.forget_join_answers(conn, holder_openid)
    uow.emit(event_type, member.id, payload)
