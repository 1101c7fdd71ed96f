"""At the till: a redemption against a scanned member card (its reversal is reversal.py).

The order of checks is the point (docs/merchants.md): everything that can refuse without spending
anything comes first — the amount, the stored answer of a retry, the store and the till's assignment
to it, the card code's signature and expiry, the member's standing, the offer's window, the member's
limit and the budgets as last read. Only then is the card code's nonce spent (one Redis SET NX shared
by every till), and only then does the write transaction spend the budgets with conditional UPDATEs
that cannot overspend. A refusal before the nonce leaves the member's code usable; the only refusals
after it are races lost to another till (budget or limit gone meanwhile).

Every redemption of an offer spends from the offer's one row (and the merchant's, if it has a
budget), so the write transactions queue on it: they spend last, right before COMMIT, to hold it for
one statement and the commit. A budget too small then raises, and the transaction's other writes roll
back with it. Rows are locked in one order, the member's use, the offer, the merchant, in a reversal
too, so the two never wait on each other in a circle.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

import redis
from sqlalchemy import Connection, exc

from schemas.events import benefits
from services.common import members, ratelimit
from services.common.clock import now
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Forbidden, Invalid
from services.common.idempotency import IdempotentRequest

from . import keys, model, repository, tables
from .cards import Cards
from .model import Budget, Choice


@dataclass(frozen=True)
class TillRules:
    cards: Cards
    redis: redis.Redis
    max_bill_fen: int
    limit_per_minute: int
    wait_seconds: float


@dataclass(frozen=True)
class _Plan:
    merchant: object  # repository.at_till: the merchant, the store_id and the till's assignment
    member: members.Member
    choice: Choice
    period: str | None
    claims: object


def redeem(
    uow: UnitOfWork,
    rules: TillRules,
    request: IdempotentRequest,
    *,
    staff_id: str,
    card_token: str,
    store_id: str,
    amount_fen: int,
    offer_id: str | None = None,
) -> dict:
    """Redeem the best (or the chosen) offer of the store's merchant for a card's member, once."""
    if not 0 < amount_fen <= rules.max_bill_fen:
        raise Invalid("amount.out_of_range", field="amount_fen", max_fen=rules.max_bill_fen)
    ratelimit.hit(
        rules.redis, keys.redeem_attempts(staff_id), limit=rules.limit_per_minute, window_seconds=60
    )
    at = now()
    with uow.read_only():
        if stored := request.answered(uow.connection):
            return stored[1]
        plan = _plan(uow.connection, rules.cards, staff_id, card_token, store_id, amount_fen, offer_id, at)
    with _InFlight(rules, request) as first:
        if not first:
            return _twin_answer(uow, rules, request)
        if request.key is not None:
            # A twin may have finished between our first look and taking the mark: it committed its
            # answer before letting the mark go.
            with uow.read_only():
                if stored := request.answered(uow.connection):
                    return stored[1]
        rules.cards.spend(plan.claims, now=int(at.timestamp()))
        try:
            return _record(uow, request, plan, staff_id=staff_id, amount_fen=amount_fen, at=at)
        except exc.IntegrityError:
            # A twin with the same Idempotency-Key (whose in-flight mark had lapsed) committed first.
            with uow.read_only():
                if stored := request.answered(uow.connection):
                    return stored[1]
            raise


def _plan(conn: Connection, cards: Cards, staff_id, card_token, store_id, amount_fen, offer_id, at) -> _Plan:
    merchant = repository.at_till(conn, staff_id, store_id)
    if merchant is None:
        raise Invalid("store.not_found", field="store_id")
    if not merchant.assigned:
        raise Forbidden("store.not_assigned")
    claims = cards.check(card_token, now=int(at.timestamp()))
    member = members.require_active(conn, tables.members, claims.member_id)
    if offer_id is not None:
        offers, used = repository.offers_with_uses(conn, member.member_id, at, offer_id=offer_id)
        if not offers:
            raise Invalid("offer.not_found", field="offer_id")
        choice = _chosen(offers[0], merchant, amount_fen, at, used.get(offer_id, 0))
    else:
        offers, used = repository.offers_with_uses(conn, member.member_id, at, merchant_id=merchant.id)
        choice = model.best(offers, amount_fen, at, used)
        if choice is None:
            unfunded = [replace(o, budget=model.UNLIMITED) for o in offers]
            if model.best(unfunded, amount_fen, at, used) is not None:
                raise Conflict("offer.budget_exhausted")  # one would apply, were its budget not spent
            raise Invalid("offer.none_applies", field="offer_id")
    if not _merchant_budget(merchant).allows(choice.discount_fen):
        raise Conflict("merchant.budget_exhausted")
    return _Plan(merchant, member, choice, choice.offer.period(at), claims)


def _chosen(offer: model.Offer, merchant, amount_fen: int, at: datetime, used: int) -> Choice:
    """The till named the offer: say exactly why it does not apply."""
    if offer.merchant_id != merchant.id:
        raise Invalid("offer.not_of_merchant", field="offer_id")
    if not offer.window.contains(at):
        raise Invalid("offer.outside_window", field="offer_id")
    discount = offer.discount(amount_fen)
    if discount <= 0:
        raise Invalid("offer.threshold_not_met", field="amount_fen")
    if offer.member_limit is not None and used >= offer.member_limit:
        raise Conflict("offer.limit_reached")
    if not offer.budget.allows(discount):
        raise Conflict("offer.budget_exhausted")
    return Choice(offer, discount)


def _merchant_budget(merchant) -> Budget:
    return (
        Budget(merchant.budget_kind, merchant.budget_remaining) if merchant.budget_kind else model.UNLIMITED
    )


def _record(uow: UnitOfWork, request: IdempotentRequest, plan: _Plan, *, staff_id, amount_fen, at) -> dict:
    offer, discount = plan.choice.offer, plan.choice.discount_fen
    merchant = plan.merchant
    exhausted = []
    try:
        with uow:
            conn = uow.connection
            if plan.period is not None and not repository.count_use(
                conn, offer.id, plan.member.member_id, plan.period, offer.member_limit
            ):
                raise Conflict("offer.limit_reached")
            result = _redemption(uow, plan, staff_id=staff_id, amount_fen=amount_fen, at=at)
            request.remember(conn, 201, result)
            for kind, budget, spend, table, row_id, code in (
                (
                    offer.budget.kind,
                    offer.budget,
                    repository.spend_offer_budget,
                    tables.offers,
                    offer.id,
                    "offer.budget_exhausted",
                ),
                (
                    merchant.budget_kind,
                    _merchant_budget(merchant),
                    repository.spend_merchant_budget,
                    tables.merchants,
                    merchant.id,
                    "merchant.budget_exhausted",
                ),
            ):
                if kind is None:
                    continue
                left = spend(conn, row_id, budget.cost(discount))
                if left is None:
                    exhausted.append((table, row_id))
                    raise Conflict(code)
                if left == 0:
                    # Two statements more under the lock, but once per budget, by the one that empties it.
                    _exhausted(uow, table, row_id, offer.id, merchant.id, at)
            uow.commit()
    except Conflict:
        # Lost the budget to another till after the read said it was there: the budget is as good
        # as spent, which is worth one event, recorded on its own since this transaction rolled back.
        for table, row_id in exhausted:
            with uow:
                _exhausted(uow, table, row_id, offer.id, merchant.id, at)
                uow.commit()
        raise
    return result


def _exhausted(uow: UnitOfWork, table, row_id: str, offer_id: str, merchant_id: str, at: datetime) -> None:
    if repository.mark_exhausted(uow.connection, table, row_id, at):
        uow.emit(
            benefits.BUDGET_EXHAUSTED,
            merchant_id,
            {"offer_id": offer_id, "merchant_id": merchant_id, "occurred_at": at},
        )


def _redemption(uow: UnitOfWork, plan: _Plan, *, staff_id: str, amount_fen: int, at: datetime) -> dict:
    offer, discount = plan.choice.offer, plan.choice.discount_fen
    row = {
        "id": str(uuid.uuid4()),
        "merchant_id": plan.merchant.id,
        "store_id": plan.merchant.store_id,
        "offer_id": offer.id,
        "member_id": plan.member.member_id,
        "staff_id": staff_id,
        "amount_fen": amount_fen,
        "discount_fen": discount,
        "payable_fen": amount_fen - discount,
        "subsidy_fen": model.union_share(discount, plan.merchant.union_share_percent),
        "usage_period": plan.period,
        "reversed_fen": 0,
        "created_at": at,
    }
    repository.add_redemption(uow.connection, **row)
    uow.emit(
        benefits.REDEEMED,
        plan.member.member_id,
        {
            k: row[k]
            for k in (
                "merchant_id",
                "store_id",
                "offer_id",
                "member_id",
                "amount_fen",
                "discount_fen",
                "payable_fen",
            )
        }
        | {"redemption_id": row["id"], "occurred_at": at},
    )
    return {
        **{k: v for k, v in row.items() if k not in ("usage_period", "staff_id", "created_at")},
        "offer_title": offer.title,
        "card_no": plan.member.card_no,
        "created_at": at.isoformat(),
    }


class _InFlight:
    """Marks an idempotent request as being applied, so a concurrent twin with the same key waits for
    its answer instead of racing it to the card code's nonce (which only one can win)."""

    def __init__(self, rules: TillRules, request: IdempotentRequest):
        self.redis = rules.redis
        self.ttl = max(1, int(rules.wait_seconds * 2))
        self.key = None
        if request.key is not None:
            digest = hashlib.sha256(f"{request.scope}\x00{request.key}".encode()).hexdigest()
            self.key = keys.in_flight(digest)

    def __enter__(self) -> bool:
        return self.key is None or bool(self.redis.set(self.key, 1, nx=True, ex=self.ttl))

    def __exit__(self, *exc_info) -> None:
        if self.key is not None:
            self.redis.delete(self.key)


def _twin_answer(uow: UnitOfWork, rules: TillRules, request: IdempotentRequest) -> dict:
    deadline = time.monotonic() + rules.wait_seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
        with uow.read_only():
            if stored := request.answered(uow.connection):
                return stored[1]
    raise Conflict("idempotency_in_progress")
