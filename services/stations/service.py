"""Station use cases: registering stations, their coordinators and posters, problem reports, visits.

Which coordinator may register a station is registration.py's to say. Who may manage a station is
decided here from this service's records (model.may_manage); a station the caller may not manage
reads as absent, as enrolment answers for units outside an admin's subtree.
"""

from __future__ import annotations

import logging
import uuid

import redis

from schemas.events import stations as ev
from services.common.auth import ADMIN, Principal
from services.common.clock import local_day, now
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Gone, Invalid, NotFound
from services.common.members import require_active
from services.common.signed_codes import CodeSigner, SignedCodeError
from services.common.units import Units

from . import finder, hours, registration, repository, tables
from .model import Station, check_amenities, may_administer, may_manage
from .model import staff_id as staff_id_of

log = logging.getLogger(__name__)


def managed(conn, station_id: str, who: Principal, *, for_update: bool = False) -> Station:
    station = repository.station(conn, station_id, for_update=for_update)
    if station is None or not may_manage(station, who):
        raise NotFound("station.not_found")
    return station


def administered(conn, station_id: str, who: Principal) -> Station:
    """The station, to an admin over its branch only: a login that is an admin elsewhere and also
    one of its coordinators must not choose its coordinators."""
    station = repository.station(conn, station_id)
    if station is None or not may_administer(station, who):
        raise NotFound("station.not_found")
    return station


def existing(conn, station_id: str, *, for_update: bool = False) -> Station:
    station = repository.station(conn, station_id, for_update=for_update)
    if station is None:
        raise NotFound("station.not_found")
    return station


def publish(client: redis.Redis, station: Station, *, live_only: bool = False) -> None:
    """Bring the finder up to date after a commit. The database holds the record: if Redis does not
    answer, the next ``unionhub stations-reindex`` repairs the finder, so the request still succeeds."""
    try:
        if live_only:
            finder.update_live(client, station)
        else:
            finder.index(client, station)
    except redis.RedisError:
        log.warning(
            "finder not updated for station %s; run `unionhub stations-reindex`", station.id, exc_info=True
        )


# --- stations -------------------------------------------------------------------------------------


def create_station(
    uow: UnitOfWork,
    client: redis.Redis,
    units: Units,
    who: Principal,
    *,
    token: str,
    name: str,
    address: str,
    lat: float,
    lng: float,
    branch_id: str,
    amenities: list[str],
    opening_hours: str,
    lockers: int,
) -> Station:
    """An admin registers a station of a branch in their subtree; a coordinator one of a branch a
    registration grant covers, and runs it from then on (registration.py)."""
    amenities = check_amenities(amenities)
    hours.parse(opening_hours)  # refuses a malformed expression with its position
    # Enrolment answers an admin only for a branch in their subtree: that is the scope check.
    path = units.path(branch_id, token) if ADMIN in who.roles else None
    at = now()
    with uow:
        coordinator = None
        if path is None:
            coordinator = staff_id_of(who)
            path = registration.covered_path(uow.connection, coordinator, branch_id)
        station = Station(
            id=str(uuid.uuid4()),
            name=name,
            address=address,
            lat=lat,
            lng=lng,
            branch_id=branch_id,
            branch_path=tuple(path),
            amenities=amenities,
            opening_hours=opening_hours,
            lockers=lockers,
            qr_generation=1,
            coordinators=(coordinator,) if coordinator else (),
        )
        repository.add_station(uow.connection, station, actor=who.subject, at=at)
        if coordinator:
            repository.assign_coordinator(uow.connection, station.id, coordinator, actor=who.subject, at=at)
        uow.commit()
    publish(client, station)
    return station


def update_station(
    uow: UnitOfWork, client: redis.Redis, who: Principal, station_id: str, changes: dict
) -> Station:
    if "amenities" in changes:
        changes["amenities"] = check_amenities(changes["amenities"])
    if "opening_hours" in changes:
        hours.parse(changes["opening_hours"])
    with uow:
        station = managed(uow.connection, station_id, who, for_update=True)
        for name, value in changes.items():
            setattr(station, name, value)
        repository.save_details(uow.connection, station)
        uow.commit()
    publish(client, station)
    return station


def station_for(uow: UnitOfWork, who: Principal, station_id: str) -> Station:
    with uow.read_only():
        return managed(uow.connection, station_id, who)


def public_station(uow: UnitOfWork, station_id: str) -> Station:
    with uow.read_only():
        return existing(uow.connection, station_id)


def assign_coordinator(
    uow: UnitOfWork, who: Principal, station_id: str, staff_id: str, *, actor: str
) -> Station:
    with uow:
        station = administered(uow.connection, station_id, who)
        repository.assign_coordinator(uow.connection, station.id, staff_id, actor=actor, at=now())
        uow.commit()
    return station


def unassign_coordinator(uow: UnitOfWork, who: Principal, station_id: str, staff_id: str) -> None:
    with uow:
        station = administered(uow.connection, station_id, who)
        repository.unassign_coordinator(uow.connection, station.id, staff_id)
        uow.commit()


# --- the check-in poster --------------------------------------------------------------------------


def poster_code(signer: CodeSigner, station: Station) -> str:
    return signer.sign(station.id, str(station.qr_generation))


def revoke_poster(uow: UnitOfWork, who: Principal, station_id: str) -> Station:
    """Codes printed so far stop working; the poster to print now carries the next generation."""
    with uow:
        station = managed(uow.connection, station_id, who, for_update=True)
        station.qr_generation = repository.bump_qr_generation(uow.connection, station.id)
        uow.commit()
    return station


def scanned(conn, signer: CodeSigner, code: str, *, for_update: bool = False) -> Station:
    """The station a poster code names, if it is genuine and current."""
    try:
        station_id, generation = signer.verify(code)
    except SignedCodeError as error:
        raise Invalid(f"station_code.{error.code}", field="station_code") from None
    except ValueError:  # genuine but not two fields: not a station code of ours
        raise Invalid("station_code.malformed", field="station_code") from None
    station = existing(conn, station_id, for_update=for_update)
    if generation != str(station.qr_generation):
        raise Gone("station_code.revoked")
    return station


# --- couriers: problem reports and visits ----------------------------------------------------------


def report_issue(uow: UnitOfWork, member_id: str, station_id: str, *, category: str, note: str | None) -> str:
    with uow:
        require_active(uow.connection, tables.members, member_id)
        station = existing(uow.connection, station_id)
        issue_id = str(uuid.uuid4())
        at = now()
        repository.add_issue(
            uow.connection,
            id=issue_id,
            station_id=station.id,
            member_id=member_id,
            category=category,
            note=note,
            reported_at=at,
        )
        uow.emit(
            ev.ISSUE_REPORTED,
            station.id,
            {"station_id": station.id, "category": category, "note": note, "occurred_at": at},
        )
        uow.commit()
    return issue_id


def resolve_issue(
    uow: UnitOfWork, who: Principal, station_id: str, issue_id: str, resolution: str | None
) -> None:
    with uow:
        station = managed(uow.connection, station_id, who)
        found = repository.issue(uow.connection, issue_id, station.id)
        if found is None:
            raise NotFound("issue.not_found")
        # Decided by the UPDATE, not the read: of two staff resolving it at once, one does, and the
        # other's note is not written over the first's.
        resolved = repository.resolve_issue(
            uow.connection, issue_id, by=who.subject, at=now(), resolution=resolution
        )
        if not resolved:
            raise Conflict("issue.resolved")
        uow.commit()


def visit(uow: UnitOfWork, signer: CodeSigner, member_id: str, code: str) -> tuple[Station, bool]:
    """A courier scanned the station's poster: a visit, counted once a day."""
    with uow:
        require_active(uow.connection, tables.members, member_id)
        station = scanned(uow.connection, signer, code)
        at = now()
        counted = repository.add_visit(uow.connection, station.id, member_id, local_day(at), at)
        uow.commit()
    return station, counted
