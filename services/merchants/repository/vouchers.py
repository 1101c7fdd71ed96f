"""Vouchers granted to members, and their one spending at a till."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from services.common import sql

from .. import tables

_v = tables.vouchers


def add_voucher(conn: Connection, **row) -> None:
    conn.execute(_v.insert().values(**row))


def add_shift_voucher(conn: Connection, **row) -> bool:
    """The thank-you voucher of a shift, unless that shift has one already; True if added."""
    return sql.add_unless_there(conn, _v, row, [_v.c.shift_id])


def usable_vouchers(conn: Connection, member_id: str, at: datetime) -> list:
    """The member's vouchers not spent and not expired at ``at``, the one expiring first first."""
    return conn.execute(
        select(_v)
        .where(_v.c.member_id == member_id, _v.c.used_at.is_(None), _v.c.expires_at > at)
        .order_by(_v.c.expires_at, _v.c.id)
    ).all()


# Spent only if no till spent it yet: a second till waits on the row the first updated, then finds
# it spent and changes nothing. Its expiry was checked at the sale's time, which is the row's.
_SPEND = (
    update(_v)
    .where(_v.c.id == bindparam("v"), _v.c.member_id == bindparam("member"), _v.c.used_at.is_(None))
    .values(used_at=bindparam("at"))
    .returning(_v.c.id)
)


def spending_voucher(voucher_id: str, member_id: str, at: datetime) -> tuple:
    """The statement and parameters that mark the member's voucher spent, to send with the sale's
    other writes: a row when it did, none (nothing written) when it was spent already."""
    return _SPEND, {"v": voucher_id, "member": member_id, "at": at}


def give_back_voucher(conn: Connection, voucher_id: str, at: datetime) -> bool:
    """Make a spent voucher usable again unless it has expired by ``at``; True if given back."""
    statement = (
        update(_v)
        .where(_v.c.id == voucher_id, _v.c.used_at.is_not(None), _v.c.expires_at > at)
        .values(used_at=None)
    )
    return conn.execute(statement).rowcount == 1
