"""Registration grants: an admin lets a coordinator register stations under a branch.

A grant names a coordinator's staff id (a login enrolment issued with the coordinator role) and a
branch in the granting admin's subtree; it covers that branch and the branches below it. Enrolment
answers where a branch sits only to an admin, so the grant learns the paths of the branch's subtree
then, with the admin's token; a coordinator's registration reads them from this service's table
(tables.branches). A branch enrolment creates later is covered once an admin grants again.

Revoking refuses the coordinator's registrations from then on; the stations they registered keep
them as coordinator until an admin takes them off (DELETE …/coordinators/{staff_id}).
"""

from __future__ import annotations

import uuid

from services.common.auth import Principal
from services.common.clock import now
from services.common.db import UnitOfWork
from services.common.domain import Forbidden, NotFound
from services.common.units import Units, in_scope

from . import repository
from .model import RegistrationGrant, may_register


def grant(
    uow: UnitOfWork, units: Units, who: Principal, *, admin_token: str, staff_id: str, branch_id: str
) -> tuple[RegistrationGrant, bool]:
    """The coordinator's live grant for the branch, and whether this call made it. Granting what is
    already granted refreshes the branches it covers (those enrolment created since)."""
    # Enrolment lists only the admin's subtree: a branch outside it is not found, which is the scope check.
    below = units.subtree(branch_id, admin_token)
    at = now()
    made = RegistrationGrant(
        id=str(uuid.uuid4()),
        staff_id=staff_id,
        branch_id=branch_id,
        branch_path=tuple(below[branch_id]),
        granted_by=who.subject,
        granted_at=at,
    )
    with uow:
        repository.learn_branches(uow.connection, below, at)
        repository.add_grant(uow.connection, made)
        live = repository.live_grant(uow.connection, staff_id, branch_id)
        uow.commit()
    return live, live.id == made.id


def _in_admins_scope(conn, grant_id: str, who: Principal, *, for_update: bool = False) -> RegistrationGrant:
    found = repository.grant(conn, grant_id, for_update=for_update)
    if found is None or not in_scope(found.branch_path, who.units):
        raise NotFound("registration_grant.not_found")
    return found


def revoke(uow: UnitOfWork, who: Principal, grant_id: str) -> None:
    """Revoking a revoked grant changes nothing, so a retried DELETE answers as the first did."""
    with uow:
        found = _in_admins_scope(uow.connection, grant_id, who, for_update=True)
        if found.revoked_at is None:
            repository.revoke_grant(uow.connection, found.id, by=who.subject, at=now())
        uow.commit()


def grants(
    uow: UnitOfWork, who: Principal, *, staff_id: str | None, live_only: bool
) -> list[RegistrationGrant]:
    """The grants of branches in the admin's subtree, newest first."""
    with uow.read_only() as ro:
        found = repository.all_grants(ro.connection, staff_id)
    return [g for g in found if in_scope(g.branch_path, who.units) and not (live_only and g.revoked_at)]


def covered_path(conn, staff_id: str | None, branch_id: str) -> tuple[str, ...]:
    """The branch's path, when a live grant of the coordinator covers it; else 403, whatever the
    token claims. Call it in the registering transaction: it locks the grants it reads."""
    grants_held = repository.live_grants(conn, staff_id) if staff_id else []
    path = repository.branch_path(conn, branch_id)
    if path is None or not may_register(path, grants_held):
        raise Forbidden("station.registration_not_granted")
    return path
