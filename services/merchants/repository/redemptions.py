"""Redemptions at the till and their reversals."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, select, update

from .. import tables

_r = tables.redemptions
_ADD_REDEMPTION = _r.insert()


def adding_redemption(**row) -> tuple:
    """The redemption's INSERT and parameters, to send with the sale's other writes."""
    return _ADD_REDEMPTION, row


def redemption(conn: Connection, redemption_id: str, *, for_update: bool = False):
    query = select(_r).where(_r.c.id == redemption_id)
    return conn.execute(query.with_for_update() if for_update else query).first()


def add_reversal(conn: Connection, *, redemption_id: str, refunded_total: int, **row) -> None:
    conn.execute(update(_r).where(_r.c.id == redemption_id).values(reversed_fen=refunded_total))
    conn.execute(tables.reversals.insert().values(redemption_id=redemption_id, **row))


def _refund(table):
    return (
        update(table)
        .where(table.c.id == bindparam("row"), table.c.budget_kind.is_not(None))
        .values(budget_remaining=table.c.budget_remaining + bindparam("amount"), exhausted_at=None)
    )


# An offer's and a merchant's rows are the ones every redemption of them spends from: built once.
_REFUND = {t.name: _refund(t) for t in (tables.offers, tables.merchants)}


def refund_budget(conn: Connection, table, row_id: str, amount: int) -> None:
    """Give ``amount`` back to a budget; it may be spent again, so it is no longer exhausted."""
    conn.execute(_REFUND[table.name], {"row": row_id, "amount": amount})
