"""Offers, their budgets, and how often each member used them per period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from services.common import sql

from .. import tables
from .rows import offer_from_row

_o = tables.offers
_u = tables.offer_usage


def add_offer(conn: Connection, **row) -> None:
    conn.execute(_o.insert().values(**row))


def offer(conn: Connection, offer_id: str):
    row = conn.execute(select(_o).where(_o.c.id == offer_id)).first()
    return offer_from_row(row) if row else None


_OFFERS_OF = select(_o).where(_o.c.merchant_id == bindparam("m")).order_by(_o.c.created_at, _o.c.id)


def offers_of(conn: Connection, merchant_id: str) -> list:
    return [offer_from_row(r) for r in conn.execute(_OFFERS_OF, {"m": merchant_id})]


# One statement, so two tills redeeming for the same member at once cannot both pass: the second
# waits on the row the first inserted or updated, then sees its count. Built once per dialect.
def _count_use(dialect):
    insert = dialect.insert(_u).values(
        offer_id=bindparam("o"), member_id=bindparam("member"), period=bindparam("period"), uses=1
    )
    return insert.on_conflict_do_update(
        index_elements=[_u.c.offer_id, _u.c.member_id, _u.c.period],
        set_={"uses": _u.c.uses + 1},
        where=_u.c.uses < bindparam("limit"),
    ).returning(_u.c.uses)


_COUNT_USE = {"postgresql": _count_use(postgresql), "sqlite": _count_use(sqlite)}


def counting_use(conn: Connection, offer_id: str, member_id: str, period: str, limit: int) -> tuple:
    """The statement and parameters that count one use if the member is under ``limit``, to send
    with the sale's other writes: a row when it counted, none (nothing written) when they are not."""
    params = {"o": offer_id, "member": member_id, "period": period, "limit": limit}
    return _COUNT_USE[conn.dialect.name], params


def give_back_use(conn: Connection, offer_id: str, member_id: str, period: str) -> None:
    conn.execute(
        update(_u)
        .where(_u.c.offer_id == offer_id, _u.c.member_id == member_id, _u.c.period == period, _u.c.uses > 0)
        .values(uses=_u.c.uses - 1)
    )


_SPEND = (
    update(_o)
    .where(_o.c.id == bindparam("o"), _o.c.budget_remaining >= bindparam("cost"))
    .values(budget_remaining=_o.c.budget_remaining - bindparam("cost"))
    .returning(_o.c.budget_remaining)
)


def spend_offer_budget(conn: Connection, offer_id: str, cost: int) -> int | None:
    """The budget left after spending ``cost``, or None when it does not cover it."""
    left = sql.fetch(conn, _SPEND, {"o": offer_id, "cost": cost})
    return left[0].budget_remaining if left else None


def mark_exhausted(conn: Connection, table, row_id: str, at: datetime) -> bool:
    """Record that a budget ran out; True only for the first to record it (one event per exhaustion)."""
    return (
        conn.execute(
            update(table).where(table.c.id == row_id, table.c.exhausted_at.is_(None)).values(exhausted_at=at)
        ).rowcount
        == 1
    )
