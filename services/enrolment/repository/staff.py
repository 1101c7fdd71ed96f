"""Staff accounts."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from .. import tables


def staff_by_username(conn: Connection, username: str):
    return conn.execute(select(tables.staff).where(tables.staff.c.username == username)).first()


def add_staff(conn: Connection, **values) -> None:
    conn.execute(tables.staff.insert().values(**values))


def set_staff_password(conn: Connection, staff_id: str, password_hash: str) -> None:
    t = tables.staff
    conn.execute(update(t).where(t.c.id == staff_id).values(password_hash=password_hash))
