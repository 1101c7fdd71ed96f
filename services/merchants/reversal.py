"""A till refunding all or part of a redemption: the discount comes back in proportion, the budgets
get it back, a full refund gives the member their use of the offer back. Rows are locked in the same
order as a redemption's (till.py), the budgets last."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import exc

from schemas.events import benefits
from services.common.clock import now
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Invalid, NotFound
from services.common.idempotency import IdempotentRequest

from . import model, repository, tables
from .model import COUNT, MONEY


def reverse(
    uow: UnitOfWork, request: IdempotentRequest, *, staff_id: str, redemption_id: str, amount_fen: int | None
) -> dict:
    """Refund all or part of a redemption's bill: the discount comes back in proportion, budgets get
    it back, and a full refund also gives the member their use of the offer back."""
    at = now()
    try:
        with uow:
            conn = uow.connection
            # The row lock first: a twin with the same key then finds the first one's stored answer.
            r = repository.redemption(conn, redemption_id, for_update=True)
            if stored := request.answered(conn):
                return stored[1]
            if r is None or not repository.till_stores(conn, staff_id, r.store_id):
                raise NotFound("redemption.not_found")
            result = _reverse(uow, request, r, staff_id=staff_id, amount_fen=amount_fen, at=at)
            uow.commit()
    except exc.IntegrityError:
        with uow.read_only():
            if stored := request.answered(uow.connection):
                return stored[1]
        raise
    return result


def _reverse(
    uow: UnitOfWork, request: IdempotentRequest, r, *, staff_id: str, amount_fen: int | None, at: datetime
) -> dict:
    conn = uow.connection
    left = r.amount_fen - r.reversed_fen
    if left == 0:
        raise Conflict("redemption.fully_reversed")
    refund = left if amount_fen is None else amount_fen
    if refund > left:
        raise Invalid("redemption.refund_too_large", field="amount_fen", left_fen=left)
    discount_back = model.refund_share(r.discount_fen, r.amount_fen, r.reversed_fen, refund)
    subsidy_back = model.refund_share(r.subsidy_fen, r.amount_fen, r.reversed_fen, refund)
    full = r.reversed_fen + refund == r.amount_fen
    if full and r.usage_period:
        repository.give_back_use(conn, r.offer_id, r.member_id, r.usage_period)
    reversal = {
        "id": str(uuid.uuid4()),
        "merchant_id": r.merchant_id,
        "member_id": r.member_id,
        "staff_id": staff_id,
        "amount_fen": refund,
        "discount_fen": discount_back,
        "subsidy_fen": subsidy_back,
        "created_at": at,
    }
    repository.add_reversal(conn, redemption_id=r.id, refunded_total=r.reversed_fen + refund, **reversal)
    uow.emit(
        benefits.REVERSED,
        r.member_id,
        {"member_id": r.member_id, "redemption_id": r.id, "amount_fen": refund, "occurred_at": at},
    )
    result = {
        "id": reversal["id"],
        "redemption_id": r.id,
        "amount_fen": refund,
        "discount_fen": discount_back,
        "subsidy_fen": subsidy_back,
        "refunded_fen": r.reversed_fen + refund,
        "fully_reversed": full,
        "created_at": at.isoformat(),
    }
    request.remember(conn, 201, result)
    # The budgets' rows last, as in a redemption (till.py's docstring).
    offer = repository.offer(conn, r.offer_id)
    merchant = repository.merchant(conn, r.merchant_id)
    for kind, table, row_id in (
        (offer.budget.kind, tables.offers, offer.id),
        (merchant.budget_kind, tables.merchants, merchant.id),
    ):
        back = discount_back if kind == MONEY else int(full and kind == COUNT)
        if back:
            repository.refund_budget(conn, table, row_id, back)
    return result
