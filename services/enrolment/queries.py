"""The read side of enrolment's admin lists: plain rows, scoped in SQL to the admin's subtrees.

Every function takes ``admin_units``, the unit ids of the caller's token, and reads only what lies
under them; nothing here writes.
"""

from __future__ import annotations

from sqlalchemy import Connection, Select, and_, func, literal, select

from services.common.clock import utc

from . import repository, tables
from .service import covers_federation, member_in_scope, scope_paths, unit_in_scope

AUDIT_PAGE = 200


def units(conn: Connection, admin_units) -> list:
    within = repository.within(scope_paths(conn, admin_units))
    return [
        repository.unit_from_row(r)
        for r in conn.execute(select(tables.units).where(within).order_by(tables.units.c.path))
    ]


def staff(conn: Connection, admin_units, *, role: str | None = None) -> list[dict]:
    """Staff accounts of units in the admin's subtrees (a federation admin also sees those of no
    unit), so an admin can find whom to assign to a store, station or venue in those services."""
    scopes = scope_paths(conn, admin_units)
    s = tables.staff.c
    of_units = s.unit_id.in_(select(tables.units.c.id).where(repository.within(scopes)))
    federation = covers_federation(conn, scopes)
    rows = conn.execute(
        select(s.id, s.username, s.roles, s.unit_id, s.disabled)
        .where(of_units | (s.unit_id.is_(None) & literal(federation)))
        .order_by(s.username)
    )
    return [dict(r._mapping) for r in rows if role is None or role in r.roles]


def campaigns(conn: Connection, admin_units) -> list:
    within = repository.within(scope_paths(conn, admin_units))
    query = (
        select(tables.campaigns)
        .join(tables.units)
        .where(within)
        .order_by(tables.campaigns.c.created_at.desc())
    )
    return [repository.campaign_from_row(r) for r in conn.execute(query)]


def _members(conn: Connection, admin_units, branch_id: str | None, status: str | None):
    """The members query and the names of the branches it covers."""
    scopes = scope_paths(conn, admin_units)
    if branch_id:
        scopes = [unit_in_scope(conn, branch_id, scopes).path]
    u = tables.units.c
    branches = {r.id: r.name for r in conn.execute(select(u.id, u.name).where(repository.within(scopes)))}
    query: Select = select(tables.members).where(tables.members.c.unit_id.in_(list(branches)))
    if status:
        query = query.where(tables.members.c.status == status)
    return query, branches


def members_page(conn: Connection, admin_units, *, page: int, per_page: int, branch_id=None, status=None):
    """A page of members, newest first: (rows, branch names, total)."""
    query, branches = _members(conn, admin_units, branch_id, status)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    offset = (page - 1) * per_page
    if offset >= total:
        # Past the end there is nothing to read, and a huge page's offset overflows the database's integer.
        return [], branches, total
    rows = conn.execute(
        query.order_by(tables.members.c.joined_at.desc()).limit(per_page).offset(offset)
    ).all()
    return rows, branches, total


def members_export(conn: Connection, admin_units, *, branch_id=None, status=None) -> tuple[Select, dict]:
    """The query of every member, oldest first, for a caller to stream; and the branch names.

    Only the columns an export shows: ciphertexts and hashes stay in the database, and each row
    held while streaming is half the size."""
    query, branches = _members(conn, admin_units, branch_id, status)
    m = tables.members.c
    columns = (m.id, m.unit_id, m.card_no, m.status, m.name, m.mobile_masked, m.id_number_masked)
    query = query.with_only_columns(*columns, m.employer, m.occupation, m.joined_at)
    return query.order_by(m.joined_at, m.id), branches


def count(conn: Connection, query: Select) -> int:
    return conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()


def audit_trail(conn: Connection, admin_units, member_id: str | None = None) -> list[dict]:
    """The latest personal-data reads, erasures and exports in the admin's subtree (scoped before the
    limit). A read or erasure lies where its member does; an export names no member and lies where
    the exporting admin's unit does, whose subtree is all it could export."""
    scopes = scope_paths(conn, admin_units)
    a, m, s = tables.audit_log, tables.members, tables.staff
    query = (
        select(a)
        .outerjoin(m, m.c.id == a.c.member_id)
        .outerjoin(s, and_(a.c.member_id.is_(None), a.c.actor == literal("staff:") + s.c.id))
        .join(tables.units, tables.units.c.id == func.coalesce(m.c.unit_id, s.c.unit_id))
        .where(repository.within(scopes))
        .order_by(a.c.at.desc(), a.c.id.desc())
        .limit(AUDIT_PAGE)
    )
    if member_id:
        member_in_scope(conn, member_id, scopes)
        query = query.where(a.c.member_id == member_id)
    return [{**r._mapping, "at": utc(r.at)} for r in conn.execute(query)]
