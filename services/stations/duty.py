"""The duty rota and its shifts: groups, weekly rotation, swaps, check-in and out, the duty log,
missed duties, and taking volunteers who stop being members off the rota."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import redis
from sqlalchemy.exc import IntegrityError

from schemas.events import stations as ev
from services.common.auth import Principal
from services.common.clock import local_day, now, utc
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Forbidden, Invalid, NotFound
from services.common.members import require_active
from services.common.signed_codes import CodeSigner

from . import hours, repository, tables
from .model import Duty, check_within, iso_week, may_take, minutes_between, monday_of, rotation
from .service import existing, managed, publish, scanned
from .settings import StationsSettings


def _active_member(conn, member_id: str, field: str) -> None:
    try:
        require_active(conn, tables.members, member_id)
    except Forbidden:
        raise Invalid("duty_group.member_inactive", field=field, member_id=member_id) from None


# --- groups and the rota --------------------------------------------------------------------------


def create_group(
    uow: UnitOfWork, who: Principal, station_id: str, *, name: str, member_ids: list[str]
) -> str:
    members = list(dict.fromkeys(member_ids))
    with uow:
        station = managed(uow.connection, station_id, who)
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
        ids = list(dict.fromkeys(group_ids)) if group_ids else repository.group_ids(conn, station.id)
        for group_id in ids:
            if repository.group(conn, group_id, station.id) is None:
                raise Invalid("duty_group.not_found", field="group_ids")
        plan = rotation(start, weeks, ids)
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
        require_active(conn, tables.members, member_id)
        swap = repository.swap(conn, swap_id, station_id)
        if swap is None or swap.to_member_id != member_id:
            raise NotFound("swap.not_found")
        if swap.status != "requested":
            raise Conflict("swap.not_pending")
        duty = repository.duty(conn, swap.duty_id, station_id)
        if duty.status != "scheduled" or duty.at <= now():
            raise Conflict("duty.past")
        # The duty must still be the requester's: a second swap of the same duty cannot also win.
        if not may_take(duty, swap.from_member_id, repository.group_members(conn, duty.group_id)):
            raise Conflict("swap.not_pending")
        repository.hand_duty(conn, duty.id, member_id)
        repository.settle_swap(conn, swap.id, "accepted", now())
        uow.commit()


# --- shifts -------------------------------------------------------------------------------------------


def _todays_duties(conn, station_id: str, member_id: str, at: datetime) -> list[Duty]:
    """The duties at the station today that are this member's: their group's, or handed to them."""
    groups: dict[str, set[str]] = {}
    mine = []
    for duty in repository.duties_on(conn, station_id, local_day(at)):
        if duty.group_id not in groups:
            groups[duty.group_id] = repository.group_members(conn, duty.group_id)
        if may_take(duty, member_id, groups[duty.group_id]):
            mine.append(duty)
    return mine


def check_in(
    uow: UnitOfWork,
    client: redis.Redis,
    signer: CodeSigner,
    settings: StationsSettings,
    member_id: str,
    *,
    station_code: str,
    lat: float | None,
    lng: float | None,
) -> str:
    at = now()
    with uow:
        conn = uow.connection
        require_active(conn, tables.members, member_id)
        station = scanned(conn, signer, station_code, for_update=True)
        check_within(station, lat, lng, settings.checkin_radius_m)
        if repository.open_shift_of(conn, member_id) is not None:
            raise Conflict("checkin.already")
        mine = _todays_duties(conn, station.id, member_id, at)
        if not mine:
            raise Forbidden("checkin.not_on_rota")
        group_id = mine[0].group_id
        shift_id = str(uuid.uuid4())
        try:
            with conn.begin_nested():
                repository.add_shift(
                    conn,
                    id=shift_id,
                    station_id=station.id,
                    member_id=member_id,
                    group_id=group_id,
                    started_at=at,
                )
        except IntegrityError:  # a concurrent check-in of the same volunteer won
            raise Conflict("checkin.already") from None
        for duty in mine:
            if duty.kind == "open" and duty.status == "scheduled":
                repository.mark_duty(conn, duty.id, "done", shift_id)
        shift = {
            "station_id": station.id,
            "shift_id": shift_id,
            "member_id": member_id,
            "duty_group_id": group_id,
        }
        if station.status != "open":
            repository.set_live(conn, station.id, "open", at, group_id)
            uow.emit(
                ev.STATION_OPENED,
                station.id,
                {"station_id": station.id, "member_id": member_id, "occurred_at": at},
            )
        uow.emit(ev.SHIFT_STARTED, station.id, {**shift, "occurred_at": at})
        uow.commit()
    publish(client, repository_station(uow, station.id), live_only=True)
    return shift_id


def repository_station(uow: UnitOfWork, station_id: str):
    with uow.read_only():
        return repository.station(uow.connection, station_id)


def _own_open_shift(conn, shift_id: str, member_id: str):
    shift = repository.shift(conn, shift_id, for_update=True)
    if shift is None:
        raise NotFound("shift.not_found")
    if shift.member_id != member_id:
        raise Forbidden("shift.not_yours")
    if shift.status != "open":
        raise Conflict("shift.ended")
    return shift


def log_entry(
    uow: UnitOfWork, member_id: str, shift_id: str, *, kind: str, value: str | None, note: str | None
) -> int:
    if kind in ("lights", "ac") and value is None:
        raise Invalid("log.value_required", field="value")
    if kind == "note" and not (note or "").strip():
        raise Invalid("log.note_required", field="note")
    with uow:
        _own_open_shift(uow.connection, shift_id, member_id)
        entry_id = repository.add_log(uow.connection, shift_id, kind, value, note, now())
        uow.commit()
    return entry_id


def check_out(uow: UnitOfWork, client: redis.Redis, member_id: str, shift_id: str) -> dict:
    at = now()
    with uow:
        conn = uow.connection
        shift = _own_open_shift(conn, shift_id, member_id)
        station = existing(conn, shift.station_id, for_update=True)
        minutes = minutes_between(utc(shift.started_at), at)
        repository.end_shift(conn, shift.id, at, minutes)
        for duty in repository.duties_on(conn, station.id, local_day(at)):
            if (
                duty.kind == "close"
                and duty.status == "scheduled"
                and may_take(duty, member_id, repository.group_members(conn, duty.group_id))
            ):
                repository.mark_duty(conn, duty.id, "done", shift.id)
        closed = repository.open_shifts_at(conn, station.id) == 0
        if closed:
            repository.set_live(conn, station.id, "closed", at, None)
            # Lunch boxes left at closing: the coordinator sees them flagged.
            repository.flag_left_behind(conn, station.id, at)
            uow.emit(
                ev.STATION_CLOSED,
                station.id,
                {"station_id": station.id, "member_id": member_id, "occurred_at": at},
            )
        uow.emit(
            ev.SHIFT_COMPLETED,
            station.id,
            {
                "station_id": station.id,
                "shift_id": shift.id,
                "member_id": member_id,
                "duty_group_id": shift.group_id,
                "minutes": minutes,
                "occurred_at": at,
            },
        )
        uow.commit()
    if closed:
        publish(client, repository_station(uow, station.id), live_only=True)
    return {"shift_id": shift_id, "minutes": minutes, "station_status": "closed" if closed else "open"}


def mark_missed(uow: UnitOfWork, settings: StationsSettings, at: datetime | None = None) -> int:
    """Duties nobody checked in (or out) for within the grace period after their time: missed."""
    at = at or now()
    with uow:
        overdue = repository.overdue_duties(
            uow.connection, at - timedelta(minutes=settings.shift_grace_minutes)
        )
        for duty in overdue:
            repository.mark_duty(uow.connection, duty.id, "missed")
            uow.emit(
                ev.SHIFT_MISSED,
                duty.station_id,
                {
                    "station_id": duty.station_id,
                    "duty_group_id": duty.group_id,
                    "week": duty.week,
                    "occurred_at": at,
                },
            )
        uow.commit()
    return len(overdue)


def on_inactive(uow, member_id: str, reason: str) -> None:
    """A volunteer suspended or gone: off every duty group, and the duties still to come that were
    theirs flagged for the coordinator to reassign. Runs in the member event's transaction."""
    conn = uow.connection
    groups = repository.groups_of(conn, member_id)
    repository.flag_future_duties(conn, member_id, groups, now(), f"member_{reason}")
    repository.remove_member_from_groups(conn, member_id)
