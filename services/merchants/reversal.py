"""A till refunding all or part of a redemption: the discount comes back in proportion, the budgets
get the offer's part of it back, a full refund gives the member their use of the offer back and
their voucher too while it has not expired. Rows are locked in the same order as a redemption's
(till.py), the budgets last."""

from __future__ import annotations

import uuid
from datetime import datetime

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
    the offer's part of it back, and a full refund also gives the member their use of the offer and
    their unexpired voucher back."""
    at = now()

    def reverse_once() -> dict:
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
        return result

    return request.once(uow, reverse_once)


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
    back = model.refunded(
        amount_fen=r.amount_fen,
        discount_fen=r.discount_fen,
        voucher_fen=r.voucher_fen,
        subsidy_fen=r.subsidy_fen,
        before=r.reversed_fen,
        now=refund,
    )
    full = r.reversed_fen + refund == r.amount_fen
    if full and r.usage_period:
        repository.give_back_use(conn, r.offer_id, r.member_id, r.usage_period)
    # A partial refund keeps the voucher spent (its share of the refund is the union's, not the
    # member's); the refund that completes the bill undoes the sale, voucher and all, if it can
    # still be spent.
    voucher_back = bool(full and r.voucher_id) and repository.give_back_voucher(conn, r.voucher_id, at)
    reversal = {
        "id": str(uuid.uuid4()),
        "merchant_id": r.merchant_id,
        "member_id": r.member_id,
        "staff_id": staff_id,
        "amount_fen": refund,
        "discount_fen": back.discount_fen,
        "subsidy_fen": back.subsidy_fen,
        "voucher_fen": back.voucher_fen,
        "created_at": at,
    }
    repository.add_reversal(conn, redemption_id=r.id, refunded_total=r.reversed_fen + refund, **reversal)
    uow.emit(
        benefits.REVERSED,
        r.member_id,
        {
            "member_id": r.member_id,
            "redemption_id": r.id,
            "amount_fen": refund,
            "voucher_id": r.voucher_id if voucher_back else None,
            "occurred_at": at,
        },
    )
    result = {
        "id": reversal["id"],
        "redemption_id": r.id,
        "amount_fen": refund,
        "discount_fen": back.discount_fen,
        "subsidy_fen": back.subsidy_fen,
        "voucher_fen": back.voucher_fen,
        "refunded_fen": r.reversed_fen + refund,
        "fully_reversed": full,
        "voucher_returned": voucher_back,
        "created_at": at.isoformat(),
    }
    request.remember(conn, 201, result)
    if r.offer_id is not None:  # a voucher alone spent no budget
        _refund_budgets(conn, r, back.discount_fen - back.voucher_fen, full)
    return result


def _refund_budgets(conn, r, offer_back: int, full: bool) -> None:
    """The budgets' rows last, as in a redemption (till.py's docstring): a money budget gets the
    offer's part of the discount back, a count budget its one use when the bill is refunded in full."""
    offer = repository.offer(conn, r.offer_id)
    merchant = repository.merchant(conn, r.merchant_id)
    for kind, table, row_id in (
        (offer.budget.kind, tables.offers, offer.id),
        (merchant.budget_kind, tables.merchants, merchant.id),
    ):
        back = offer_back if kind == MONEY else int(full and kind == COUNT)
        if back:
            repository.refund_budget(conn, table, row_id, back)
