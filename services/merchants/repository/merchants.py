"""Merchants, their stores, and which till logins serve which stores."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select, update

from services.common import sql

from .. import tables

_m = tables.merchants
_s = tables.stores
_t = tables.till_staff


def add_merchant(conn: Connection, **row) -> None:
    conn.execute(_m.insert().values(**row))


def merchant(conn: Connection, merchant_id: str):
    return conn.execute(select(_m).where(_m.c.id == merchant_id)).first()


def add_store(conn: Connection, **row) -> None:
    conn.execute(_s.insert().values(**row))


def store(conn: Connection, store_id: str):
    return conn.execute(select(_s).where(_s.c.id == store_id)).first()


def set_store_open(conn: Connection, store_id: str, **values) -> None:
    conn.execute(update(_s).where(_s.c.id == store_id).values(**values))


def add_till_staff(conn: Connection, rows: list[dict]) -> None:
    """Record the stores a till login serves; one recorded already is left as it is."""
    conn.execute(sql.insert_on_conflict(conn, _t).on_conflict_do_nothing(), rows)


def username_taken(conn: Connection, username: str) -> bool:
    return conn.execute(select(_t.c.staff_id).where(_t.c.username == username).limit(1)).first() is not None


_TILL_STORE = select(_t.c.merchant_id).where(
    _t.c.staff_id == bindparam("staff"), _t.c.store_id == bindparam("store")
)


def till_stores(conn: Connection, staff_id: str, store_id: str) -> bool:
    """Whether this till login serves this store."""
    return conn.execute(_TILL_STORE, {"staff": staff_id, "store": store_id}).first() is not None


# The budget is spent only if it covers the cost; the row's own lock serialises concurrent tills, and
# a till that finds too little changes no row.
_SPEND = (
    update(_m)
    .where(_m.c.id == bindparam("m"), _m.c.budget_remaining >= bindparam("cost"))
    .values(budget_remaining=_m.c.budget_remaining - bindparam("cost"))
    .returning(_m.c.budget_remaining)
)


def spend_merchant_budget(conn: Connection, merchant_id: str, cost: int) -> int | None:
    """The budget left after spending ``cost``, or None when it does not cover it."""
    left = sql.fetch(conn, _SPEND, {"m": merchant_id, "cost": cost})
    return left[0].budget_remaining if left else None
