"""Registration grants and the branch paths learned with them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from services.common.clock import utc
from services.common.sql import insert_on_conflict

from .. import tables
from ..model import RegistrationGrant

g = tables.registration_grants


def grant_from_row(row) -> RegistrationGrant:
    return RegistrationGrant(
        id=row.id,
        staff_id=row.staff_id,
        branch_id=row.branch_id,
        branch_path=tuple(row.branch_path),
        granted_by=row.granted_by,
        granted_at=utc(row.granted_at),
        revoked_by=row.revoked_by,
        revoked_at=utc(row.revoked_at),
    )


def add_grant(conn: Connection, grant: RegistrationGrant) -> None:
    """Record a live grant, unless the coordinator already holds one for the branch (the partial
    unique index decides, so two admins granting at once leave one)."""
    conn.execute(
        insert_on_conflict(conn, g)
        .values(
            id=grant.id,
            staff_id=grant.staff_id,
            branch_id=grant.branch_id,
            branch_path=list(grant.branch_path),
            granted_by=grant.granted_by,
            granted_at=grant.granted_at,
        )
        .on_conflict_do_nothing()
    )


def grant(conn: Connection, grant_id: str, *, for_update: bool = False) -> RegistrationGrant | None:
    query = select(g).where(g.c.id == grant_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return grant_from_row(row) if row else None


def live_grant(conn: Connection, staff_id: str, branch_id: str) -> RegistrationGrant | None:
    row = conn.execute(
        select(g).where(g.c.staff_id == staff_id, g.c.branch_id == branch_id, g.c.revoked_at.is_(None))
    ).first()
    return grant_from_row(row) if row else None


def live_grants(conn: Connection, staff_id: str) -> list[RegistrationGrant]:
    """A coordinator's live grants, locked: a revocation waits for a registration reading them, and a
    registration that waited for a revocation no longer sees the revoked grant."""
    query = select(g).where(g.c.staff_id == staff_id, g.c.revoked_at.is_(None)).with_for_update()
    return [grant_from_row(row) for row in conn.execute(query)]


def all_grants(conn: Connection, staff_id: str | None = None) -> list[RegistrationGrant]:
    query = select(g).order_by(g.c.granted_at.desc(), g.c.id)
    if staff_id is not None:
        query = query.where(g.c.staff_id == staff_id)
    return [grant_from_row(row) for row in conn.execute(query)]


def revoke_grant(conn: Connection, grant_id: str, *, by: str, at: datetime) -> None:
    conn.execute(
        update(g).where(g.c.id == grant_id, g.c.revoked_at.is_(None)).values(revoked_by=by, revoked_at=at)
    )


def learn_branches(conn: Connection, paths: dict[str, list[str]], at: datetime) -> None:
    """Keep each branch's path as enrolment last told it (many rows: the drivers batch them)."""
    b = tables.branches
    statement = insert_on_conflict(conn, b)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[b.c.id],
            set_={"path": statement.excluded.path, "learned_at": statement.excluded.learned_at},
        ),
        [{"id": branch_id, "path": path, "learned_at": at} for branch_id, path in paths.items()],
    )


def branch_path(conn: Connection, branch_id: str) -> tuple[str, ...] | None:
    b = tables.branches
    path = conn.execute(select(b.c.path).where(b.c.id == branch_id)).scalar()
    return tuple(path) if path is not None else None
