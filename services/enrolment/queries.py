"""The read side of enrolment's admin lists: plain rows, scoped in SQL to the admin's subtrees.

Every function takes ``admin_units``, the unit ids of the caller's token, and reads only what lies
under them; nothing here writes.
"""

from __future__ import annotations

from sqlalchemy import Connection, Select, func, select

from . import repository, tables
from .service import member_in_scope, scope_paths, unit_in_scope

AUDIT_PAGE = 200


def units(conn: Connection, admin_units) -> list:
    within = repository.within(scope_paths(conn, admin_units))
    return [
        repository.unit_from_row(r)
        for r in conn.execute(select(tables.units).where(within).order_by(tables.units.c.path))
    ]


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
    rows = conn.execute(
        query.order_by(tables.members.c.joined_at.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return rows, branches, total


def members_export(conn: Connection, admin_units, *, branch_id=None, status=None):
    """Every member, oldest first: (rows, branch names)."""
    query, branches = _members(conn, admin_units, branch_id, status)
    return conn.execute(query.order_by(tables.members.c.joined_at)).all(), branches


def audit_trail(conn: Connection, admin_units, member_id: str | None = None) -> list[dict]:
    """The latest personal-data reads and erasures in the admin's subtree (scoped before the limit)."""
    scopes = scope_paths(conn, admin_units)
    a = tables.audit_log
    query = (
        select(a)
        .join(tables.members, tables.members.c.id == a.c.member_id)
        .join(tables.units, tables.units.c.id == tables.members.c.unit_id)
        .where(repository.within(scopes))
        .order_by(a.c.at.desc())
        .limit(AUDIT_PAGE)
    )
    if member_id:
        member_in_scope(conn, member_id, scopes)
        query = query.where(a.c.member_id == member_id)
    return [dict(r._mapping) for r in conn.execute(query)]
