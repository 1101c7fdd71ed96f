"""Duty groups, the rota's duties, swaps, shifts and the duty log."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, and_, delete, or_, select, update

from services.common.clock import utc

from .. import tables
from ..model import Duty, minutes_between

g, gm, d, sw = tables.duty_groups, tables.duty_group_members, tables.duties, tables.swaps
sh, st = tables.shifts, tables.shift_stints


def duty_from_row(row) -> Duty:
    return Duty(
        row.id,
        row.station_id,
        row.group_id,
        row.week,
        row.day,
        row.kind,
        utc(row.at),
        row.member_id,
        row.status,
        bool(row.flagged),
    )


def add_group(
    conn: Connection, group_id: str, station_id: str, name: str, members: list[str], at: datetime
) -> None:
    conn.execute(g.insert().values(id=group_id, station_id=station_id, name=name, created_at=at))
    if members:
        conn.execute(gm.insert(), [{"group_id": group_id, "member_id": m, "added_at": at} for m in members])


def group(conn: Connection, group_id: str, station_id: str):
    return conn.execute(select(g).where(g.c.id == group_id, g.c.station_id == station_id)).first()


def group_ids(conn: Connection, station_id: str) -> list[str]:
    return list(
        conn.execute(
            select(g.c.id).where(g.c.station_id == station_id).order_by(g.c.created_at, g.c.id)
        ).scalars()
    )


def group_before(conn: Connection, station_id: str, day: date) -> str | None:
    """The group of the station's last duty before ``day``, if it has one."""
    last = select(d.c.group_id).where(d.c.station_id == station_id, d.c.day < day)
    return conn.execute(last.order_by(d.c.day.desc(), d.c.at.desc()).limit(1)).scalar()


def group_members(conn: Connection, group_id: str) -> set[str]:
    return set(conn.execute(select(gm.c.member_id).where(gm.c.group_id == group_id)).scalars())


def groups_of(conn: Connection, member_id: str, *, added_before: datetime | None = None) -> list[str]:
    query = select(gm.c.group_id).where(gm.c.member_id == member_id)
    if added_before is not None:
        query = query.where(gm.c.added_at < added_before)
    return list(conn.execute(query).scalars())


def remove_member_from_groups(conn: Connection, member_id: str, group_ids_: list[str]) -> None:
    conn.execute(delete(gm).where(gm.c.member_id == member_id, gm.c.group_id.in_(group_ids_)))


def replace_duties(
    conn: Connection, station_id: str, *, since: datetime, first: date, until: date, rows: list[dict]
) -> None:
    """Regenerating a rota replaces the duties still to come in its weeks, and the swaps asked of
    them; done and missed ones stay, and so does one a volunteer took by an accepted swap, unless it
    is flagged for reassigning (its volunteer left)."""
    replaced = select(d.c.id).where(
        d.c.station_id == station_id,
        d.c.status == "scheduled",
        d.c.at >= since,
        d.c.day >= first,
        d.c.day < until,
        or_(d.c.member_id.is_(None), d.c.flagged.is_not(None)),
    )
    conn.execute(delete(sw).where(sw.c.duty_id.in_(replaced)))  # they name the duty: its key
    conn.execute(delete(d).where(d.c.id.in_(replaced)))
    taken = (
        set(
            conn.execute(
                select(d.c.day, d.c.kind).where(
                    d.c.station_id == station_id, d.c.day.in_({r["day"] for r in rows})
                )
            ).all()
        )
        if rows
        else set()
    )
    fresh = [r for r in rows if (r["day"], r["kind"]) not in taken]
    if fresh:
        conn.execute(d.insert(), fresh)


def duties_on(conn: Connection, station_id: str, day: date) -> list[Duty]:
    rows = conn.execute(select(d).where(d.c.station_id == station_id, d.c.day == day).order_by(d.c.at))
    return [duty_from_row(r) for r in rows]


def duty(conn: Connection, duty_id: str, station_id: str, *, for_update: bool = False) -> Duty | None:
    query = select(d).where(d.c.id == duty_id, d.c.station_id == station_id)
    row = conn.execute(query.with_for_update() if for_update else query).first()
    return duty_from_row(row) if row else None


def mark_duty(conn: Connection, duty_id: str, status: str, shift_id: str | None = None) -> None:
    """A scheduled duty done or missed; one already either stays so. A check-in that read the duty
    as scheduled while the worker marked it missed (and said so in shift_missed) waits for the
    worker's row and then changes nothing: the rota agrees with the event."""
    conn.execute(
        update(d).where(d.c.id == duty_id, d.c.status == "scheduled").values(status=status, shift_id=shift_id)
    )


def hand_duty(conn: Connection, duty_id: str, member_id: str) -> None:
    conn.execute(update(d).where(d.c.id == duty_id).values(member_id=member_id, flagged=None))


def overdue_duties(conn: Connection, before: datetime) -> list[Duty]:
    """Scheduled duties whose time was before ``before``; a close duty not while somebody is still on
    shift at its station that day (closing late is closing: their check-out does it). A shift of
    another day left open, a check-out forgotten, holds up no other day's."""
    on_shift = (
        select(sh.c.id)
        .where(sh.c.station_id == d.c.station_id, sh.c.duty_day == d.c.day, sh.c.status == "open")
        .exists()
    )
    rows = conn.execute(
        select(d)
        .where(d.c.status == "scheduled", d.c.at < before, ~and_(d.c.kind == "close", on_shift))
        .order_by(d.c.at)
        .with_for_update(of=d)
    )
    return [duty_from_row(r) for r in rows]


def flag_future_duties(
    conn: Connection, member_id: str, group_ids_: list[str], after: datetime, reason: str
) -> int:
    """Flag the duties still to come that were this member's: handed to them, or their groups'."""
    mine = d.c.member_id == member_id
    theirs = and_(d.c.group_id.in_(group_ids_), d.c.member_id.is_(None)) if group_ids_ else mine
    return conn.execute(
        update(d).where(d.c.status == "scheduled", d.c.at > after, mine | theirs).values(flagged=reason)
    ).rowcount


def add_swap(conn: Connection, **values) -> None:
    conn.execute(sw.insert().values(status="requested", **values))


def swap(conn: Connection, swap_id: str, station_id: str):
    return conn.execute(
        select(sw).where(sw.c.id == swap_id, sw.c.station_id == station_id).with_for_update()
    ).first()


def settle_swap(conn: Connection, swap_id: str, status: str, at: datetime) -> None:
    conn.execute(update(sw).where(sw.c.id == swap_id).values(status=status, decided_at=at))


def add_shift(conn: Connection, **values) -> None:
    conn.execute(sh.insert().values(status="open", **values))
    conn.execute(st.insert().values(shift_id=values["id"], started_at=values["started_at"]))


def shift(conn: Connection, shift_id: str, *, for_update: bool = False):
    query = select(sh).where(sh.c.id == shift_id)
    return conn.execute(query.with_for_update() if for_update else query).first()


def day_shift_of(conn: Connection, member_id: str, station_id: str, day: date):
    """The volunteer's shift at the station on that duty day, if they checked in already."""
    query = select(sh).where(sh.c.member_id == member_id, sh.c.station_id == station_id, sh.c.duty_day == day)
    return conn.execute(query).first()


def resume_shift(conn: Connection, shift_id: str, at: datetime) -> bool:
    """Open an ended shift again, with a stint from ``at``; False when it is open (a concurrent
    check-in won). A shift stopped by a suspension resumes once the member is reinstated."""
    reopened = update(sh).where(sh.c.id == shift_id, sh.c.status.in_(("completed", "stopped")))
    if conn.execute(reopened.values(status="open", ended_at=None)).rowcount != 1:
        return False
    conn.execute(st.insert().values(shift_id=shift_id, started_at=at))
    return True


def open_shift_of(conn: Connection, member_id: str):
    return conn.execute(select(sh).where(sh.c.member_id == member_id, sh.c.status == "open")).first()


def open_shifts_at(conn: Connection, station_id: str) -> int:
    return len(
        conn.execute(select(sh.c.id).where(sh.c.station_id == station_id, sh.c.status == "open")).all()
    )


def end_shift(conn: Connection, shift_id: str, at: datetime, status: str = "completed") -> int:
    """End the shift and its stint (``completed`` by its volunteer, or ``stopped``: cut short by a
    member event); its minutes on duty, all stints together."""
    # A shift a release before stints opened (pods rolling over the migration) has none: its one.
    unrecorded = ~select(st.c.shift_id).where(st.c.shift_id == shift_id).exists()
    conn.execute(
        st.insert().from_select(
            ["shift_id", "started_at"],
            select(sh.c.id, sh.c.started_at).where(sh.c.id == shift_id, unrecorded),
        )
    )
    conn.execute(update(st).where(st.c.shift_id == shift_id, st.c.ended_at.is_(None)).values(ended_at=at))
    stints = conn.execute(select(st.c.started_at, st.c.ended_at).where(st.c.shift_id == shift_id))
    minutes = sum(minutes_between(utc(start), utc(end)) for start, end in stints)
    conn.execute(update(sh).where(sh.c.id == shift_id).values(status=status, ended_at=at, minutes=minutes))
    return minutes


def add_log(
    conn: Connection, shift_id: str, kind: str, value: str | None, note: str | None, at: datetime
) -> int:
    result = conn.execute(
        tables.duty_log.insert().values(shift_id=shift_id, kind=kind, value=value, note=note, at=at)
    )
    return result.inserted_primary_key[0]
