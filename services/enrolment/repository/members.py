"""Members: their rows, personal data bound to them, and their erasure."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, literal_column, or_, select, update

from services.common import idempotency, sql

from .. import tables
from ..model import CURRENT_STATUSES, Member
from .rows import member_from_row


def member(conn: Connection, member_id: str, *, for_update: bool = False) -> Member | None:
    query = select(tables.members).where(tables.members.c.id == member_id)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    return member_from_row(row) if row else None


def member_row(conn: Connection, member_id: str):
    return conn.execute(select(tables.members).where(tables.members.c.id == member_id)).first()


# In the statement's text, not a list SQLAlchemy expands on every execution.
_CURRENT = [literal_column(f"'{status}'") for status in CURRENT_STATUSES]


def _current_member_by(*keys: str):
    m = tables.members.c
    match = or_(*(m[key] == bindparam(key) for key in keys))
    return select(tables.members).where(and_(match, m.status.in_(_CURRENT)))


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
    found = sql.fetch(conn, _CURRENT_MEMBER[tuple(params)], params)
    return found[0] if found else None


def current_members(conn: Connection, *, id_hash: str, openid: str) -> list:
    """Every current membership held by this ID hash or this openid: none, one or two."""
    return sql.fetch(conn, _CURRENT_MEMBER[("id_hash", "openid")], {"id_hash": id_hash, "openid": openid})


_INSERT_MEMBER = tables.members.insert()


def add_member(conn: Connection, member: Member, personal: dict, *, consent_version: str) -> None:
    """A new member; ``personal`` holds the encrypted, masked and hashed personal data."""
    sql.fetch(conn, *adding_member(member, personal, consent_version=consent_version))


def adding_member(member: Member, personal: dict, *, consent_version: str) -> tuple:
    """``add_member``'s statement and parameters, to send with the join's other writes."""
    return (
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


def unerased_members_of(conn: Connection, openid: str) -> list[Member]:
    """Every membership this WeChat user holds or held whose personal data is still here, locked.

    Locked in id order, so that two erasures of the same person queue instead of deadlocking. A row
    another transaction moves to someone else (a dispute) or erases meanwhile is left out once that
    commits: PostgreSQL checks the condition again on the row it locks.
    """
    m = tables.members.c
    query = select(tables.members).where(m.openid == openid, m.erased_at.is_(None)).order_by(m.id)
    return [member_from_row(row) for row in conn.execute(query.with_for_update())]


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
    """Members whose personal data is still encrypted under an old PII key, locked until the
    transaction ends: FOR NO KEY UPDATE, the lock updating them takes anyway, so a join may still
    open a dispute that refers to one."""
    m = tables.members.c
    return conn.execute(
        select(m.id, m.mobile_enc, m.id_number_enc)
        .where(m.id_number_enc.is_not(None))
        .where(~m.id_number_enc.startswith(f"{current_kid}:"))
        .order_by(m.id)  # locked in id order, as an erasure locks a person's rows: no deadlock
        .limit(limit)
        .with_for_update(key_share=True)
    ).all()


def set_member_ciphertexts(conn: Connection, member_id: str, *, mobile_enc: str, id_number_enc: str) -> None:
    m = tables.members
    conn.execute(
        update(m).where(m.c.id == member_id).values(mobile_enc=mobile_enc, id_number_enc=id_number_enc)
    )
