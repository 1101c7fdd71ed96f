"""Every write to enrolment's tables, the lookups use cases share, and rows mapped to domain objects.

Only this module writes tables. Use cases (service.py) decide; list views read through queries.py.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, Sequence, and_, bindparam, false, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from services.common import idempotency
from services.common.clock import utc

from . import tables
from .model import CURRENT_STATUSES, OPEN, Campaign, Dispute, Member, Unit

# --- rows to domain objects ---------------------------------------------------------------------


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


# --- units ----------------------------------------------------------------------------------------


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


# --- campaigns ------------------------------------------------------------------------------------


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
    row = conn.execute(_CAMPAIGN_WITH_UNIT, {"code": code}).first()
    if row is None:
        return None
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


# --- members --------------------------------------------------------------------------------------


def member(conn: Connection, member_id: str, *, for_update: bool = False) -> Member | None:
    query = select(tables.members).where(tables.members.c.id == member_id)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    return member_from_row(row) if row else None


def member_row(conn: Connection, member_id: str):
    return conn.execute(select(tables.members).where(tables.members.c.id == member_id)).first()


def _current_member_by(*keys: str):
    m = tables.members.c
    match = or_(*(m[key] == bindparam(key) for key in keys))
    return select(tables.members).where(and_(match, m.status.in_(CURRENT_STATUSES)))


# Every join asks these; built once, as above.
_CURRENT_MEMBER = {
    ("id_hash",): _current_member_by("id_hash"),
    ("openid",): _current_member_by("openid"),
    ("id_hash", "openid"): _current_member_by("id_hash", "openid"),
}


def current_member(conn: Connection, *, id_hash: str | None = None, openid: str | None = None):
    """The current (pending, active or suspended) membership of a person, found by ID hash or openid."""
    params = {k: v for k, v in (("id_hash", id_hash), ("openid", openid)) if v}
    if not params:
        return None
    return conn.execute(_CURRENT_MEMBER[tuple(params)], params).first()


def current_members(conn: Connection, *, id_hash: str, openid: str) -> list:
    """Every current membership held by this ID hash or this openid: none, one or two."""
    return conn.execute(_CURRENT_MEMBER[("id_hash", "openid")], {"id_hash": id_hash, "openid": openid}).all()


_INSERT_MEMBER = tables.members.insert()


def add_member(conn: Connection, member: Member, personal: dict, *, consent_version: str) -> None:
    """A new member; ``personal`` holds the encrypted, masked and hashed personal data."""
    conn.execute(
        _INSERT_MEMBER,
        dict(
            id=member.id,
            unit_id=member.unit_id,
            campaign_id=member.campaign_id,
            card_no=member.card_no,
            status=member.status,
            employer=member.employer,
            occupation=member.occupation,
            consent_version=consent_version,
            consented_at=member.joined_at,
            joined_at=member.joined_at,
            updated_at=member.joined_at,
            **personal,
        ),
    )


def bind_member(conn: Connection, member_id: str, personal: dict, at: datetime) -> None:
    """Bind the membership to another person: ``personal`` holds their openid, name and mobile."""
    conn.execute(
        update(tables.members).where(tables.members.c.id == member_id).values(updated_at=at, **personal)
    )


def save_member_state(conn: Connection, member: Member, at: datetime) -> None:
    conn.execute(
        update(tables.members)
        .where(tables.members.c.id == member.id)
        .values(status=member.status, unit_id=member.unit_id, updated_at=at)
    )


def erase_member(conn: Connection, member: Member, at: datetime) -> None:
    """Wipe personal data; the card number and the history stay, anonymous."""
    conn.execute(
        update(tables.members)
        .where(tables.members.c.id == member.id)
        .values(
            status=member.status,
            name=None,
            mobile_enc=None,
            mobile_masked=None,
            id_number_enc=None,
            id_number_masked=None,
            id_hash=None,
            openid=None,
            birth_date=None,
            sex=None,
            employer="",
            occupation="",
            erased_at=at,
            updated_at=at,
        )
    )


def forget_join_answers(conn: Connection, openid: str) -> None:
    """Delete the stored Idempotency-Key answers of a person's joins (their erasure)."""
    idempotency.forget(conn, tables.idempotency_keys, join_scope(openid))


def join_scope(openid: str) -> str:
    """Whose joins an Idempotency-Key belongs to."""
    return f"join:{openid}"


def members_under_old_key(conn: Connection, current_kid: str, limit: int):
    m = tables.members.c
    return conn.execute(
        select(m.id, m.mobile_enc, m.id_number_enc)
        .where(m.id_number_enc.is_not(None))
        .where(~m.id_number_enc.startswith(f"{current_kid}:"))
        .limit(limit)
    ).all()


def set_member_ciphertexts(conn: Connection, member_id: str, *, mobile_enc: str, id_number_enc: str) -> None:
    m = tables.members
    conn.execute(
        update(m).where(m.c.id == member_id).values(mobile_enc=mobile_enc, id_number_enc=id_number_enc)
    )


def add_audit(
    conn: Connection, *, at: datetime, actor: str, action: str, member_id, fields, request_id
) -> None:
    conn.execute(
        tables.audit_log.insert().values(
            at=at, actor=actor, action=action, member_id=member_id, fields=fields, request_id=request_id
        )
    )


# --- identity disputes --------------------------------------------------------------------------


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


# --- staff ----------------------------------------------------------------------------------------


def staff_by_username(conn: Connection, username: str):
    return conn.execute(select(tables.staff).where(tables.staff.c.username == username)).first()


def add_staff(conn: Connection, **values) -> None:
    conn.execute(tables.staff.insert().values(**values))


def set_staff_password(conn: Connection, staff_id: str, password_hash: str) -> None:
    t = tables.staff
    conn.execute(update(t).where(t.c.id == staff_id).values(password_hash=password_hash))


# --- counters -------------------------------------------------------------------------------------
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
        return conn.execute(_NEXT_SERIAL).scalar_one()
    return conn.execute(_NEXT_SERIAL_SQLITE, {"province": province}).scalar_one()


def count_join(conn: Connection, campaign_id: str, day: date) -> None:
    conn.execute(_COUNT_JOIN[conn.dialect.name], {"campaign_id": campaign_id, "day": day})


def joins_by_day(conn: Connection, campaign_id: str) -> dict[date, int]:
    t = tables.campaign_days
    return {r.day: r.joins for r in conn.execute(select(t).where(t.c.campaign_id == campaign_id))}
