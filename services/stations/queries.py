"""The read side: the rota, swaps, problem reports, lockers and stats of one station, for those who
manage it (the caller checks that with service.managed first). Nothing here writes."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, func, select

from services.common.clock import SHANGHAI, local_day, utc

from . import tables

PAGE = 200


def duties(conn: Connection, station_id: str, first: date, last: date) -> list[dict]:
    d, g = tables.duties, tables.duty_groups
    rows = conn.execute(
        select(d, g.c.name.label("group_name"))
        .join(g, g.c.id == d.c.group_id)
        .where(d.c.station_id == station_id, d.c.day >= first, d.c.day <= last)
        .order_by(d.c.at)
        .limit(PAGE * 2)
    )
    return [{**r._mapping, "at": utc(r.at)} for r in rows]


def groups(conn: Connection, station_id: str) -> list[dict]:
    g, gm = tables.duty_groups, tables.duty_group_members
    found = conn.execute(select(g).where(g.c.station_id == station_id).order_by(g.c.created_at)).all()
    members = defaultdict(list)
    if found:
        for row in conn.execute(
            select(gm).where(gm.c.group_id.in_([r.id for r in found])).order_by(gm.c.added_at)
        ):
            members[row.group_id].append(row.member_id)
    return [{"id": r.id, "name": r.name, "member_ids": members[r.id]} for r in found]


def swaps(conn: Connection, station_id: str) -> list[dict]:
    s, d = tables.swaps, tables.duties
    rows = conn.execute(
        select(s, d.c.day, d.c.kind, d.c.at)
        .join(d, d.c.id == s.c.duty_id)
        .where(s.c.station_id == station_id)
        .order_by(s.c.requested_at.desc())
        .limit(PAGE)
    )
    return [{**r._mapping, "at": utc(r.at)} for r in rows]


def issues(conn: Connection, station_id: str, status: str | None) -> list[dict]:
    i = tables.issues
    query = select(i).where(i.c.station_id == station_id)
    if status:
        query = query.where(i.c.status == status)
    return [dict(r._mapping) for r in conn.execute(query.order_by(i.c.reported_at.desc()).limit(PAGE))]


def left_behind(conn: Connection, station_id: str) -> list[dict]:
    """Lockers still holding items after the station closed."""
    dp = tables.deposits
    rows = conn.execute(
        select(dp.c.id, dp.c.locker_no, dp.c.deposited_at, dp.c.flagged_at)
        .where(dp.c.station_id == station_id, dp.c.collected_at.is_(None), dp.c.flagged_at.is_not(None))
        .order_by(dp.c.locker_no)
    )
    return [dict(r._mapping) for r in rows]


def open_shift(conn: Connection, member_id: str) -> dict | None:
    """The volunteer's shift still open (at most one), with its station and log: a duty page that
    was reloaded or reopened on the phone carries on where it was."""
    sh, st = tables.shifts, tables.stations
    row = conn.execute(
        select(sh.c.id, sh.c.station_id, sh.c.started_at, st.c.name.label("station_name"), st.c.lockers)
        .join(st, st.c.id == sh.c.station_id)
        .where(sh.c.member_id == member_id, sh.c.status == "open")
    ).first()
    if row is None:
        return None
    return {
        "shift_id": row.id,
        "station_id": row.station_id,
        "station_name": row.station_name,
        "lockers": row.lockers,
        "started_at": utc(row.started_at),
        "log": shift_log(conn, row.id),
    }


def shift_log(conn: Connection, shift_id: str) -> list[dict]:
    log = tables.duty_log
    rows = conn.execute(select(log).where(log.c.shift_id == shift_id).order_by(log.c.id))
    return [dict(r._mapping) for r in rows]


def stats(conn: Connection, station_id: str, first: date, last: date, at: datetime) -> dict:
    """Per local day: visits, duties scheduled and done, and hours the station was open (the union of
    its shifts' stints, so two volunteers on duty together count once, and a lunch away none)."""
    start = datetime.combine(first, time(0), SHANGHAI).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)
    days = {
        first + timedelta(days=i): {"visits": 0, "scheduled": 0, "done": 0, "open_minutes": 0}
        for i in range((last - first).days + 1)
    }

    v = tables.visits
    for day, count in conn.execute(
        select(v.c.day, func.count())
        .where(v.c.station_id == station_id, v.c.day >= first, v.c.day <= last)
        .group_by(v.c.day)
    ):
        days[day]["visits"] = count

    d = tables.duties
    for day, status, count in conn.execute(
        select(d.c.day, d.c.status, func.count())
        .where(d.c.station_id == station_id, d.c.day >= first, d.c.day <= last, d.c.at <= at)
        .group_by(d.c.day, d.c.status)
    ):
        days[day]["scheduled"] += count
        if status == "done":
            days[day]["done"] += count

    sh, st = tables.shifts, tables.shift_stints
    spans = sorted(
        (max(utc(r.started_at), start), min(utc(r.ended_at) if r.ended_at else at, end))
        for r in conn.execute(
            select(st.c.started_at, st.c.ended_at)
            .join(sh, sh.c.id == st.c.shift_id)
            .where(
                sh.c.station_id == station_id,
                st.c.started_at < end,
                (st.c.ended_at.is_(None)) | (st.c.ended_at > start),
            )
        )
    )
    for a, b in _union(spans):
        _spread(days, a, b)

    out = []
    for day, n in sorted(days.items()):
        out.append(
            {
                "day": day,
                "visits": n["visits"],
                "duties_scheduled": n["scheduled"],
                "duties_done": n["done"],
                "coverage": round(n["done"] / n["scheduled"], 3) if n["scheduled"] else None,
                "open_hours": round(n["open_minutes"] / 60, 2),
            }
        )
    scheduled = sum(n["scheduled"] for n in days.values())
    done = sum(n["done"] for n in days.values())
    return {
        "station_id": station_id,
        "from": first,
        "to": last,
        "visits": sum(n["visits"] for n in days.values()),
        "coverage": round(done / scheduled, 3) if scheduled else None,
        "open_hours": round(sum(n["open_minutes"] for n in days.values()) / 60, 2),
        "days": out,
    }


def _union(spans):
    merged: list[list[datetime]] = []
    for a, b in spans:
        if b <= a:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return merged


def _spread(days: dict, a: datetime, b: datetime) -> None:
    """Add the minutes of [a, b) to the local days they fall on."""
    while a < b:
        day = local_day(a)
        midnight = datetime.combine(day + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)
        upto = min(b, midnight)
        if day in days:
            days[day]["open_minutes"] += (upto - a).total_seconds() / 60
        a = upto
