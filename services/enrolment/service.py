"""Enrolment's use cases for the union tree and its QR campaigns, and the scope checks all share.

Each use case opens its unit of work, decides with the domain rules in model.py, writes through
the repository and commits state, audit rows and events together. Admin use cases take the unit ids
of the caller's token (``admin_units``) and resolve them to subtrees in the same transaction.
A member's own card and data and admins' changes to a membership are in membership.py, joining
in joining.py, logins and staff accounts in accounts.py, disputes in disputes.py.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, timedelta

from sqlalchemy import Connection

from services.common.clock import local_day, now
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Invalid, NotFound

from . import model, pii, repository
from .funnel import UNIQUE_SCANS, Funnel
from .model import Campaign, Member, Unit


@dataclass(frozen=True)
class PiiKeys:
    pii: pii.KeyRing
    pii_hash_key: bytes


# --- scopes ---------------------------------------------------------------------------------------


def scope_paths(conn: Connection, admin_units) -> list[str]:
    return [u.path for u in repository.units_by_ids(conn, admin_units)]


def covers_federation(conn: Connection, scopes: list[str]) -> bool:
    """The admin manages the whole tree (the federation's own admins)."""
    root = repository.root_unit(conn)
    return root is not None and root.path in scopes


def unit_in_scope(conn: Connection, unit_id: str, scopes: list[str]) -> Unit:
    unit = repository.unit(conn, unit_id)
    if unit is None:
        raise NotFound("unit.not_found")
    model.check_scope(unit.path, scopes)
    return unit


def _campaign_in_scope(conn: Connection, campaign_id: str, scopes: list[str]) -> Campaign:
    campaign = repository.campaign(conn, campaign_id)
    if campaign is None or not model.in_scope(repository.unit(conn, campaign.unit_id).path, scopes):
        raise NotFound("campaign.not_found")
    return campaign


def member_in_scope(conn: Connection, member_id: str, scopes: list[str], *, for_update=False) -> Member:
    member = repository.member(conn, member_id, for_update=for_update)
    if member is None or not model.in_scope(repository.unit(conn, member.unit_id).path, scopes):
        raise NotFound("member.not_found")
    return member


# --- units ----------------------------------------------------------------------------------------


def unit(uow: UnitOfWork, admin_units, unit_id: str) -> Unit:
    with uow.read_only():
        return unit_in_scope(uow.connection, unit_id, scope_paths(uow.connection, admin_units))


def new_unit(
    conn: Connection, scopes: list[str], *, name: str, parent_id: str, kind: str, requires_approval: bool
) -> Unit:
    parent = unit_in_scope(conn, parent_id, scopes)
    model.check_admin_may_create_child(parent, kind)
    unit_id = str(uuid.uuid4())
    unit = Unit(unit_id, name, kind, parent.id, model.child_path(parent, unit_id), requires_approval)
    repository.add_unit(conn, unit, now())
    return unit


def create_unit(uow: UnitOfWork, admin_units, *, parent_id: str | None, **form) -> Unit:
    """A branch or an intermediate union under a unit the admin manages (by default their own)."""
    with uow:
        scopes = scope_paths(uow.connection, admin_units)
        unit = new_unit(uow.connection, scopes, parent_id=parent_id or admin_units[0], **form)
        uow.commit()
    return unit


def ensure_root(conn: Connection, name: str) -> Unit:
    """The federation at the top of the tree, created on first start."""
    root = repository.root_unit(conn)
    if root is None:
        unit_id = str(uuid.uuid4())
        root = Unit(unit_id, name, "federation", None, model.child_path(None, unit_id))
        repository.add_unit(conn, root, now())
    return root


# --- campaigns ------------------------------------------------------------------------------------


def new_campaign(
    conn: Connection,
    scopes: list[str],
    *,
    branch_id: str,
    name: str,
    site: str | None,
    expires_at,
    actor: str,
) -> Campaign:
    unit = unit_in_scope(conn, branch_id, scopes)
    model.check_can_join_branch(unit)
    if expires_at is not None:
        expires_at = expires_at.astimezone(UTC)  # stored as UTC: SQLite keeps no offset
        if expires_at <= now():
            raise Invalid("campaign.expiry_in_past", field="expires_at")
    campaign = Campaign(
        str(uuid.uuid4()), unit.id, name, site, secrets.token_urlsafe(12), "active", expires_at
    )
    repository.add_campaign(conn, campaign, actor=actor, at=now())
    return campaign


def create_campaign(uow: UnitOfWork, admin_units, *, actor: str, **form) -> Campaign:
    with uow:
        campaign = new_campaign(uow.connection, scope_paths(uow.connection, admin_units), actor=actor, **form)
        uow.commit()
    return campaign


def campaign(uow: UnitOfWork, admin_units, campaign_id: str) -> Campaign:
    with uow.read_only():
        return _campaign_in_scope(uow.connection, campaign_id, scope_paths(uow.connection, admin_units))


def campaign_for_poster(uow: UnitOfWork, admin_units, campaign_id: str) -> Campaign:
    """A campaign whose QR poster may be printed: a revoked one may not."""
    found = campaign(uow, admin_units, campaign_id)
    if found.status == "revoked":
        raise Conflict("campaign.revoked")
    return found


def revoke_campaign(uow: UnitOfWork, admin_units, campaign_id: str) -> Campaign:
    with uow:
        found = _campaign_in_scope(uow.connection, campaign_id, scope_paths(uow.connection, admin_units))
        if found.status != "revoked":
            found.status = "revoked"
            repository.revoke_campaign(uow.connection, found.id, now())
        uow.commit()
    _scan_pages.pop(found.code, None)
    return found


# The scan page is the drive's hottest read (a poster at a logistics park is scanned by hundreds
# within minutes), and a campaign and its branch hardly ever change, so each process keeps what it
# read for a few seconds. Expiry is checked from the kept copy at every scan; a revocation reaches
# the other processes within SCAN_PAGE_SECONDS. Joining reads the campaign afresh, so no join gets
# through a revoked poster. Only campaigns that exist are kept, so unknown codes cannot fill it.
SCAN_PAGE_SECONDS = 5.0
_scan_pages: dict[str, tuple[float, Campaign, Unit]] = {}


def _scan_page(uow: UnitOfWork, code: str) -> tuple[Campaign, Unit]:
    kept = _scan_pages.get(code)
    if kept is None or kept[0] <= time.monotonic():
        with uow.read_only():
            found = repository.campaign_with_unit(uow.connection, code)
        if found is None:
            raise NotFound("campaign.not_found")
        kept = (time.monotonic() + SCAN_PAGE_SECONDS, *found)
        _scan_pages[code] = kept
    return opened(kept[1:])


def opened(found: tuple[Campaign, Unit] | None) -> tuple[Campaign, Unit]:
    if found is None:
        raise NotFound("campaign.not_found")
    found[0].check_open(now())
    return found


# What one source (an address) may add to a day's scan figures in an hour: a station's couriers
# share one address, but no poster is scanned by one courier hundreds of times.
SCANS_PER_SOURCE_PER_HOUR = 60


def scan(uow: UnitOfWork, funnel: Funnel, code: str, *, scanner: str) -> tuple[Campaign, Unit]:
    """A worker scanned a poster: the open campaign and its branch, with the scan counted.

    Every scan is answered; one counts only while its source stays within the hourly bound, and
    the figures keep unique scanners beside raw hits, so reloading cannot inflate conversion.
    """
    campaign, unit = _scan_page(uow, code)
    funnel.scan(campaign.id, local_day(now()), scanner, limit=SCANS_PER_SOURCE_PER_HOUR, window_seconds=3600)
    return campaign, unit


def campaign_stats(uow: UnitOfWork, funnel: Funnel, admin_units, campaign_id: str, *, days: int = 90) -> dict:
    """The funnel by day (scans, joins started, joins, conversion) since the campaign began."""
    today = local_day(now())
    with uow.read_only():
        found = _campaign_in_scope(uow.connection, campaign_id, scope_paths(uow.connection, admin_units))
        joins = repository.joins_by_day(uow.connection, found.id)
        created = repository.campaign_created_at(uow.connection, found.id)
    counters = funnel.by_day(found.id, [today - timedelta(days=i) for i in range(days)])
    rows = [
        {
            "day": day,
            "scans": counters.get(day, {}).get("scans", 0),
            "unique_scans": counters.get(day, {}).get(UNIQUE_SCANS, 0),
            "joins_started": counters.get(day, {}).get("started", 0),
            "joins": joins.get(day, 0),
        }
        for day in _days(max(local_day(created), today - timedelta(days=days - 1)), today)
    ]
    for row in rows:
        row["conversion"] = conversion(row["joins"], row["scans"])
    totals = {k: sum(r[k] for r in rows) for k in ("scans", "joins_started", "joins")}
    # Unique scanners are unique per day; over the whole campaign the day counts are summed.
    totals["unique_scans"] = sum(r["unique_scans"] for r in rows)
    return {**totals, "conversion": conversion(totals["joins"], totals["scans"]), "by_day": rows}


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def conversion(joins: int, scans: int) -> float:
    return round(joins / scans, 4) if scans else 0.0


def record_change(uow: UnitOfWork, change: tuple[str, dict], subject: str) -> None:
    event_type, payload = change
    uow.emit(event_type, subject, payload)
