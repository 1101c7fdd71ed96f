"""Stations, their coordinators, issues and visits."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, select, update

from services.common import sql
from services.common.clock import utc

from .. import tables
from ..model import Station

t = tables.stations


def station_from_row(row, coordinators=(), group_name: str | None = None) -> Station:
    return Station(
        id=row.id,
        name=row.name,
        address=row.address,
        lat=row.lat,
        lng=row.lng,
        branch_id=row.branch_id,
        branch_path=tuple(row.branch_path or ()),
        amenities=list(row.amenities or ()),
        opening_hours=row.opening_hours,
        lockers=row.lockers,
        qr_generation=row.qr_generation,
        status=row.status,
        status_at=utc(row.status_at),
        on_duty_group=group_name,
        coordinators=tuple(coordinators),
    )


def station(conn: Connection, station_id: str, *, for_update: bool = False) -> Station | None:
    query = select(t).where(t.c.id == station_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        return None
    c = tables.station_coordinators
    coordinators = conn.execute(select(c.c.staff_id).where(c.c.station_id == station_id)).scalars().all()
    group_name = None
    if row.on_duty_group_id:
        g = tables.duty_groups
        group_name = conn.execute(select(g.c.name).where(g.c.id == row.on_duty_group_id)).scalar()
    return station_from_row(row, coordinators, group_name)


def all_stations(conn: Connection) -> list[Station]:
    return [station(conn, row.id) for row in conn.execute(select(t.c.id))]


def live_changed_since(conn: Connection, since: datetime | None) -> list[Station]:
    """The stations whose live state changed at or after ``since`` (every one, for None)."""
    query = select(t.c.id) if since is None else select(t.c.id).where(t.c.status_at >= since)
    return [station(conn, row.id) for row in conn.execute(query)]


def add_station(conn: Connection, s: Station, *, actor: str, at: datetime) -> None:
    conn.execute(
        t.insert().values(
            id=s.id,
            name=s.name,
            address=s.address,
            lat=s.lat,
            lng=s.lng,
            branch_id=s.branch_id,
            branch_path=list(s.branch_path),
            amenities=list(s.amenities),
            opening_hours=s.opening_hours,
            lockers=s.lockers,
            qr_generation=s.qr_generation,
            status=s.status,
            status_at=None,
            created_by=actor,
            created_at=at,
        )
    )


def save_details(conn: Connection, s: Station) -> None:
    conn.execute(
        update(t)
        .where(t.c.id == s.id)
        .values(
            name=s.name,
            address=s.address,
            lat=s.lat,
            lng=s.lng,
            amenities=list(s.amenities),
            opening_hours=s.opening_hours,
            lockers=s.lockers,
        )
    )


def bump_qr_generation(conn: Connection, station_id: str) -> int:
    conn.execute(update(t).where(t.c.id == station_id).values(qr_generation=t.c.qr_generation + 1))
    return conn.execute(select(t.c.qr_generation).where(t.c.id == station_id)).scalar_one()


def set_live(conn: Connection, station_id: str, status: str, at: datetime, group_id: str | None) -> None:
    conn.execute(
        update(t).where(t.c.id == station_id).values(status=status, status_at=at, on_duty_group_id=group_id)
    )


def assign_coordinator(conn: Connection, station_id: str, staff_id: str, *, actor: str, at: datetime) -> None:
    c = tables.station_coordinators
    conn.execute(
        sql.insert_on_conflict(conn, c)
        .values(station_id=station_id, staff_id=staff_id, assigned_by=actor, assigned_at=at)
        .on_conflict_do_nothing()
    )


def unassign_coordinator(conn: Connection, station_id: str, staff_id: str) -> int:
    c = tables.station_coordinators
    return conn.execute(c.delete().where(c.c.station_id == station_id, c.c.staff_id == staff_id)).rowcount


def add_issue(conn: Connection, **values) -> None:
    conn.execute(tables.issues.insert().values(status="open", **values))


def issue(conn: Connection, issue_id: str, station_id: str):
    i = tables.issues
    return conn.execute(select(i).where(i.c.id == issue_id, i.c.station_id == station_id)).first()


def resolve_issue(conn: Connection, issue_id: str, *, by: str, at: datetime, resolution: str | None) -> bool:
    """Resolve the issue if it is still open; False when another resolution came first."""
    i = tables.issues
    return (
        conn.execute(
            update(i)
            .where(i.c.id == issue_id, i.c.status == "open")
            .values(status="resolved", resolved_at=at, resolved_by=by, resolution=resolution)
        ).rowcount
        == 1
    )


def add_visit(conn: Connection, station_id: str, member_id: str, day: date, at: datetime) -> bool:
    """Count a courier's visit once a day; whether this one counted."""
    row = {"station_id": station_id, "day": day, "member_id": member_id, "at": at}
    return sql.add_unless_there(conn, tables.visits, row)
