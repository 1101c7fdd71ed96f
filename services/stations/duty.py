"""The duty rota: groups, weekly rotation, swaps, and taking volunteers who stop being members off
it. Their shifts (check-in, the log, check-out, missed duties) are in shifts.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from services.common.auth import Principal
from services.common.clock import local_day, now
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Forbidden, Invalid, NotFound
from services.common.members import find, require_active

from . import hours, repository, tables
from .model import iso_week, may_take, monday_of, rotation
from .service import existing, managed
from .settings import StationsSettings


def _active_member(conn, member_id: str, field: str) -> None:
    try:
        require_active(conn, tables.members, member_id)
    except Forbidden:
        raise Invalid("duty_group.member_inactive", field=field, member_id=member_id) from None


def _locking(conn, *member_ids: str) -> None:
    """The members' projection rows, locked (in one order) before they are checked active. A member
    event that suspends one of them, and takes them off the rota in its transaction (``on_inactive``),
    then either waits for this transaction and finds what it wrote, or commits first and is read
    here: a group or swap never puts a suspended volunteer back on the rota."""
    for member_id in sorted({m for m in member_ids if m}):  # None: a caller with no membership
        find(conn, tables.members, member_id, lock=True)


# --- groups and the rota --------------------------------------------------------------------------


def create_group(
    uow: UnitOfWork, who: Principal, station_id: str, *, name: str, member_ids: list[str]
) -> str:
    members = list(dict.fromkeys(member_ids))
    with uow:
        station = managed(uow.connection, station_id, who)
        _locking(uow.connection, *members)
        for member_id in members:
            _active_member(uow.connection, member_id, "member_ids")
        group_id = str(uuid.uuid4())
        repository.add_group(uow.connection, group_id, station.id, name, members, now())
        uow.commit()
    return group_id


def generate_rota(
    uow: UnitOfWork,
    who: Principal,
    station_id: str,
    settings: StationsSettings,
    *,
    start: date,
    weeks: int,
    group_ids: list[str] | None,
) -> dict:
    """Each group takes a week in turn; each day the station opens has an open and a close duty, at
    its first opening and last closing by its opening hours."""
    if start.weekday() != 0:
        raise Invalid("rota.not_monday", field="start")
    if weeks > settings.rota_max_weeks:
        raise Invalid("rota.too_many_weeks", field="weeks", limit=settings.rota_max_weeks)
    at = now()
    if start < monday_of(local_day(at)):
        raise Invalid("rota.in_past", field="start")
    with uow:
        conn = uow.connection
        station = managed(conn, station_id, who, for_update=True)
        plan = rotation(start, weeks, _in_turn(conn, station.id, start, group_ids))
        parsed = hours.parse(station.opening_hours)
        rows = []
        for monday, group_id in plan:
            for offset in range(7):
                day = monday + timedelta(days=offset)
                bounds = hours.day_bounds(parsed, day)
                if bounds is None:
                    continue
                for kind, when in zip(("open", "close"), bounds, strict=True):
                    if when > at:
                        rows.append(_duty_row(station.id, group_id, monday, day, kind, when))
        until = start + timedelta(weeks=weeks)
        repository.replace_duties(conn, station.id, since=at, first=start, until=until, rows=rows)
        uow.commit()
    return {
        "station_id": station.id,
        "weeks": [{"week": iso_week(monday), "starts": monday, "group_id": g} for monday, g in plan],
        "duties": len(rows),
    }


def _in_turn(conn, station_id: str, start: date, group_ids: list[str] | None) -> list[str]:
    """The groups in the order they take the weeks from ``start``: as the coordinator named them,
    or else every group with somebody in it, oldest first, carrying on from the group that had the
    week before (a rota is planned a few weeks at a time, and each plan used to begin with the first
    group again: it took two weeks running and twice the others' share). A group nobody is left in
    could take no duty: named, it is refused; unnamed, it is passed over."""
    if group_ids:
        ids = list(dict.fromkeys(group_ids))
        for group_id in ids:
            if repository.group(conn, group_id, station_id) is None:
                raise Invalid("duty_group.not_found", field="group_ids")
            if not repository.group_members(conn, group_id):
                raise Invalid("duty_group.empty", field="group_ids")
        return ids
    ids = [g for g in repository.group_ids(conn, station_id) if repository.group_members(conn, g)]
    before = repository.group_before(conn, station_id, start)
    if before in ids:
        after = ids.index(before) + 1
        ids = ids[after:] + ids[:after]
    return ids


def _duty_row(station_id: str, group_id: str, monday: date, day: date, kind: str, when: datetime) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "station_id": station_id,
        "group_id": group_id,
        "week": iso_week(monday),
        "day": day,
        "kind": kind,
        "at": when,
        "member_id": None,
        "status": "scheduled",
        "flagged": None,
        "shift_id": None,
    }


# --- swaps ------------------------------------------------------------------------------------------


def request_swap(uow: UnitOfWork, member_id: str, station_id: str, duty_id: str, to_member_id: str) -> str:
    if to_member_id == member_id:
        raise Invalid("swap.same_member", field="to_member_id")
    with uow:
        conn = uow.connection
        _locking(conn, member_id, to_member_id)
        require_active(conn, tables.members, member_id)
        existing(conn, station_id)
        duty = repository.duty(conn, duty_id, station_id)
        if duty is None:
            raise NotFound("duty.not_found")
        if not may_take(duty, member_id, repository.group_members(conn, duty.group_id)):
            raise Forbidden("duty.not_yours")
        if duty.status != "scheduled" or duty.at <= now():
            raise Conflict("duty.past")
        _active_member(conn, to_member_id, "to_member_id")
        swap_id = str(uuid.uuid4())
        repository.add_swap(
            conn,
            id=swap_id,
            duty_id=duty.id,
            station_id=station_id,
            from_member_id=member_id,
            to_member_id=to_member_id,
            requested_at=now(),
        )
        uow.commit()
    return swap_id


def accept_swap(uow: UnitOfWork, member_id: str, station_id: str, swap_id: str) -> None:
    with uow:
        conn = uow.connection
        require_active(conn, tables.members, member_id, lock=True)
        swap = repository.swap(conn, swap_id, station_id)
        if swap is None or swap.to_member_id != member_id:
            raise NotFound("swap.not_found")
        if swap.status != "requested":
            raise Conflict("swap.not_pending")
        # The duty's row, locked and read as it stands: two swaps of one duty accepted at once are
        # decided one after the other.
        duty = repository.duty(conn, swap.duty_id, station_id, for_update=True)
        if duty.status != "scheduled" or duty.at <= now():
            raise Conflict("duty.past")
        # The duty must still be the requester's: a second swap of the same duty cannot also win.
        if not may_take(duty, swap.from_member_id, repository.group_members(conn, duty.group_id)):
            raise Conflict("swap.not_pending")
        repository.hand_duty(conn, duty.id, member_id)
        repository.settle_swap(conn, swap.id, "accepted", now())
        uow.commit()


def on_inactive(uow, member_id: str, reason: str, before: datetime | None) -> None:
    """A volunteer suspended or gone: off every duty group (every one they joined ``before`` a
    membership moved to another person: later ones are the new holder's), and the duties still to
    come that were theirs flagged for the coordinator to reassign. Runs in the member event's
    transaction."""
    conn = uow.connection
    groups = repository.groups_of(conn, member_id, added_before=before)
    repository.flag_future_duties(conn, member_id, groups, now(), f"member_{reason}")
    repository.remove_member_from_groups(conn, member_id, groups)
