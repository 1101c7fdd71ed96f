"""A volunteer's shift at a station: checking in with the station's QR (which opens it), the duty
log, checking out (which may close it), and the duties nobody took, marked missed."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timedelta

import redis
from sqlalchemy.exc import IntegrityError

from schemas.events import stations as ev
from services.common.clock import local_day, now, utc
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Forbidden, Invalid, NotFound
from services.common.members import require_active
from services.common.signed_codes import CodeSigner

from . import finder, keys, repository, tables
from .model import Duty, check_within, may_take
from .service import existing, publish, scanned
from .settings import StationsSettings

log = logging.getLogger(__name__)

# Longer than a check-in's or check-out's transaction takes between reading the clock and COMMIT.
LIVE_MARGIN = timedelta(minutes=2)


def duty_day(conn, station_id: str, at: datetime) -> date:
    """The day whose opening a volunteer at the station at ``at`` takes part in: yesterday's while
    its opening runs past midnight (its close duty still to come, hours.day_bounds), else today."""
    today = local_day(at)
    yesterday = today - timedelta(days=1)
    running_on = any(
        d.kind == "close" and utc(d.at) > at for d in repository.duties_on(conn, station_id, yesterday)
    )
    return yesterday if running_on else today


def _duties_of_the_day(conn, station_id: str, member_id: str, day: date) -> list[Duty]:
    """The duties of the day the volunteer checks in on (``duty_day``) that are this member's:
    their group's, or handed to them."""
    groups: dict[str, set[str]] = {}
    mine = []
    for duty in repository.duties_on(conn, station_id, day):
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
        # Locked: a suspension committing meanwhile is waited for and refuses this check-in, else
        # its cut_short, not seeing this shift yet, would leave a suspended volunteer on shift.
        require_active(conn, tables.members, member_id, lock=True)
        station = scanned(conn, signer, station_code, for_update=True)
        check_within(station, lat, lng, settings.checkin_radius_m)
        if repository.open_shift_of(conn, member_id) is not None:
            raise Conflict("checkin.already")
        day = duty_day(conn, station.id, at)
        mine = _duties_of_the_day(conn, station.id, member_id, day)
        if not mine:
            raise Forbidden("checkin.not_on_rota")
        shift_id, group_id = _start_or_resume(conn, station.id, member_id, day, mine[0].group_id, at)
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
    publish(client, _station_now(uow, station.id), live_only=True)
    return shift_id


def _start_or_resume(conn, station_id: str, member_id: str, day: date, group_id: str, at: datetime):
    """The volunteer's shift of the day, new or resumed, and its group. A day on duty is one shift
    however often they step out: a shift is what the thank-you voucher is granted once for, so a
    check-out and check-in again must not make another (docs/stations.md)."""
    earlier = repository.day_shift_of(conn, member_id, station_id, day)
    try:
        with conn.begin_nested():
            if earlier is None:
                shift_id = str(uuid.uuid4())
                repository.add_shift(
                    conn,
                    id=shift_id,
                    station_id=station_id,
                    member_id=member_id,
                    group_id=group_id,
                    started_at=at,
                    duty_day=day,
                )
                return shift_id, group_id
            if repository.resume_shift(conn, earlier.id, at):
                return earlier.id, earlier.group_id
    except IntegrityError:  # a concurrent check-in of the same volunteer won
        pass
    raise Conflict("checkin.already")


def _close_if_nobody_left(uow: UnitOfWork, station_id: str, member_id: str, at: datetime) -> bool:
    """Close the station when the shift just ended was the last open there; whether it closed."""
    conn = uow.connection
    if repository.open_shifts_at(conn, station_id):
        return False
    repository.set_live(conn, station_id, "closed", at, None)
    # Lunch boxes left at closing: the coordinator sees them flagged.
    repository.flag_left_behind(conn, station_id, at)
    uow.emit(
        ev.STATION_CLOSED, station_id, {"station_id": station_id, "member_id": member_id, "occurred_at": at}
    )
    return True


def cut_short(uow: UnitOfWork, member_id: str, reason: str, before: datetime | None) -> None:
    """A volunteer who stops being an active member (suspended, left, the membership moved) while
    on shift: the shift stops now, in the member event's transaction, and emits no
    ``shift_completed``, which would earn them the thank-you voucher. Left open, it could still be
    checked out (and the voucher earned) by someone the union has just suspended. The finder's card
    follows within the worker's ``publish_live`` minute: a handler holds no Redis. A shift begun
    at or after ``before`` (a membership moved to another person) is the new holder's, and runs on."""
    conn = uow.connection
    open_shift = repository.open_shift_of(conn, member_id)
    if open_shift is None:
        return
    # Locked shift first, then station, as a check-out locks them.
    shift = repository.shift(conn, open_shift.id, for_update=True)
    if shift.status != "open" or (before is not None and utc(shift.started_at) >= before):
        return
    at = now()
    existing(conn, shift.station_id, for_update=True)
    repository.end_shift(conn, shift.id, at, status="stopped")
    _close_if_nobody_left(uow, shift.station_id, member_id, at)
    log.info("shift %s of member %s stopped: member %s", shift.id, member_id, reason)


def publish_live(db, client: redis.Redis) -> int:
    """Bring the finder's live cards up to the database where no request did: a station closed by
    ``cut_short``, or a request's card write lost to a Redis outage. The stations changed since the
    last run (every one, the first time or after Redis lost its data), less a margin for
    transactions that took their time ``at`` and committed later; how many cards were written."""
    at = now()
    last = client.get(keys.live_published())
    since = datetime.fromisoformat(last.decode()) - LIVE_MARGIN if last else None
    with db.unit_of_work().read_only() as uow:
        stations = repository.live_changed_since(uow.connection, since)
    for station in stations:
        finder.update_live(client, station)
    client.set(keys.live_published(), at.isoformat())
    return len(stations)


def _station_now(uow: UnitOfWork, station_id: str):
    """The station as just committed, for the finder's card."""
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


def check_out(
    uow: UnitOfWork, client: redis.Redis, settings: StationsSettings, member_id: str, shift_id: str
) -> dict:
    at = now()
    with uow:
        conn = uow.connection
        shift = _own_open_shift(conn, shift_id, member_id)
        station = existing(conn, shift.station_id, for_update=True)
        minutes = repository.end_shift(conn, shift.id, at)
        # The close duty of the opening the shift began in (the next morning's, for a night), done
        # by leaving at closing time: stepping out at 08:01 closes nothing.
        closing_from = at + timedelta(minutes=settings.shift_grace_minutes)
        day = shift.duty_day or duty_day(conn, station.id, utc(shift.started_at))
        for duty in repository.duties_on(conn, station.id, day):
            if (
                duty.kind == "close"
                and duty.status == "scheduled"
                and duty.at <= closing_from
                and may_take(duty, member_id, repository.group_members(conn, duty.group_id))
            ):
                repository.mark_duty(conn, duty.id, "done", shift.id)
        closed = _close_if_nobody_left(uow, station.id, member_id, at)
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
        publish(client, _station_now(uow, station.id), live_only=True)
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
