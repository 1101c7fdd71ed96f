"""A sale's budgets at the till: which it spends from, spending them as its transaction commits (with
the sale's other writes), and announcing one run out (``benefit.budget_exhausted``, once per budget)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exc

from events.envelope import Event
from schemas.events import benefits
from services.common import sql
from services.common.db import UnitOfWork
from services.common.domain import Conflict

from . import repository, tables
from .sale import Plan, merchant_budget


def commit_sale(uow: UnitOfWork, plan: Plan, at: datetime, exhausted: list, sale: list[tuple]) -> None:
    """Write the ``sale`` (``sql.write_in_turn``'s steps: the use counted, the voucher spent, the
    redemption, its event, the stored answer), spend its budgets and commit; a budget that does not
    cover its part refuses the sale and is noted in ``exhausted``. On PostgreSQL all of it goes in
    one round trip with BEGIN and COMMIT, the budgets last (repository/budgets.py)."""
    conn, budgets = uow.connection, _of(plan)
    if conn.dialect.name == "postgresql":
        # Each with the event it writes should it be the spend that exhausts its budget.
        spends = [
            repository.spending_budget(
                table,
                row_id,
                budget.cost(plan.offer_fen),
                at,
                uow.outbox_row(_exhaustion(uow, table, plan, at)),
            )
            for budget, _, table, row_id, _ in budgets
        ]
        try:
            sql.write_in_turn(conn, sale, then=spends, commit=True)
        except exc.DataError as error:
            for *_, table, row_id, code in budgets:
                if repository.budget_short(error, table):
                    exhausted.append((table, row_id))
                    raise Conflict(code) from None
            raise
        return
    sql.write_in_turn(conn, sale)
    for budget, spend, table, row_id, code in budgets:
        left = spend(conn, row_id, budget.cost(plan.offer_fen))
        if left is None:
            exhausted.append((table, row_id))
            raise Conflict(code)
        if left == 0:
            # Two statements more under the lock, but once per budget, by the one that empties it.
            announce_exhausted(uow, table, row_id, plan, at)
    uow.commit()


def _of(plan: Plan) -> list[tuple]:
    """The budgets the offer's discount spends from, in the order their rows are locked: the offer's,
    then the merchant's. The voucher's part spends from neither: the union funds it."""
    if plan.choice is None:
        return []
    offer, merchant = plan.choice.offer, plan.merchant
    budgets = (
        (offer.budget, repository.spend_offer_budget, tables.offers, offer.id, "offer.budget_exhausted"),
        (
            merchant_budget(merchant),
            repository.spend_merchant_budget,
            tables.merchants,
            merchant.id,
            "merchant.budget_exhausted",
        ),
    )
    return [b for b in budgets if b[0].kind is not None]


def announce_exhausted(uow: UnitOfWork, table, row_id: str, plan: Plan, at: datetime) -> None:
    if repository.mark_exhausted(uow.connection, table, row_id, at):
        uow.record(_exhaustion(uow, table, plan, at))


_BUDGET_OF = {tables.offers.name: benefits.OFFER_BUDGET, tables.merchants.name: benefits.MERCHANT_BUDGET}


def _exhaustion(uow: UnitOfWork, table, plan: Plan, at: datetime) -> Event:
    """The event that ``table``'s budget ran out, said of the merchant: its subject, and so its key,
    keeps one merchant's exhaustions in order, an offer's and the merchant's own alike."""
    merchant_id = plan.merchant.id
    data = {
        "offer_id": plan.choice.offer.id,
        "merchant_id": merchant_id,
        "budget": _BUDGET_OF[table.name],
        "occurred_at": at,
    }
    return uow.event(benefits.BUDGET_EXHAUSTED, merchant_id, data)
