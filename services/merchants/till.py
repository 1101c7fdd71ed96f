"""At the till: a redemption against a scanned member card, and its preview (the checks and the
discount are sale.py, the reversal is reversal.py).

The order of checks is the point (docs/merchants.md): everything that can refuse without spending
anything comes first — the amount, the stored answer of a retry, the store and the till's assignment
to it, the card code's signature and expiry, the member's standing, the voucher presented (the
member's, unspent, unexpired), the offer's window, the member's limit and the budgets as last read.
Only then is the card code's nonce spent (one Redis SET NX shared by every till), and only then does
the write transaction spend the voucher and the budgets with conditional UPDATEs that cannot spend
twice or overspend. A refusal before the nonce leaves the member's code usable; the only refusals
after it are races lost to another till (the voucher, a budget or the limit gone meanwhile). The
till's rate limit counts every attempt: a sale's in the Redis round trip that spends the nonce
(cards.py), one refused or answered from its stored answer before that on its own. So 429 is decided
after the read, and a till past its limit still costs that one SELECT.

Everything the checks look at is read first, in one statement (repository.till_read): the stored
answer, the store, the assignment, the member the code names, the voucher, the offers and the
member's uses of them. The checks themselves read nothing. A concurrent twin with the same
Idempotency-Key is told apart when it spends the nonce: the nonce holds a hash of the key of the
request that spent it (cards.py), so the twin waits for that request's answer where another use of
the code gets 409. A redemption is so one read, one Redis round trip (the rate limit and the nonce)
and one write transaction: BEGIN, the member's use, the voucher, the redemption, its event, the
stored answer, the budgets and COMMIT, sent together on PostgreSQL (budgets.py) and refused together
when one finds the use, the voucher or a budget gone.

Every redemption of an offer spends from the offer's one row (and the merchant's, if it has a
budget), so the write transactions queue on it: they spend last, with COMMIT (budgets.py), to hold
it for that round trip alone. A budget too small then fails the statement, and the transaction's
other writes roll back with it. Rows are locked in one order, the member's use, the voucher, the
offer, the merchant, in a reversal too, so the two never wait on each other in a circle.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exc

from schemas.events import benefits
from services.common import ratelimit
from services.common.clock import now, utc
from services.common.db import UnitOfWork
from services.common.domain import Conflict
from services.common.idempotency import IdempotentRequest, KeyTaken

from . import budgets, keys, model, repository
from .cards import Cards
from .sale import Plan, Sale, check_amount, planned


@dataclass(frozen=True)
class TillRules:
    cards: Cards
    max_bill_fen: int
    limit_per_minute: int
    wait_seconds: float


def redeem(uow: UnitOfWork, rules: TillRules, request: IdempotentRequest, sale: Sale) -> dict:
    """Redeem the best (or the chosen) offer of the store's merchant, and the voucher presented,
    for a card's member, once."""
    check_amount(sale.amount_fen, rules.max_bill_fen)
    at = now()
    attempts = ratelimit.Limit(keys.redeem_attempts(sale.staff_id), rules.limit_per_minute, window_seconds=60)
    try:
        read = _read(uow, rules, sale, at, request)
        stored = request.answer_of(*read.answer)
        if not stored:
            # With a voucher, a bill no offer discounts is still a sale: the voucher pays part of it.
            plan = planned(read, rules.cards, sale, at, offer_optional=sale.voucher_id is not None)
    except Exception:
        _count(rules, attempts)  # it never reached the spend, which counts the others
        raise
    if stored:
        _count(rules, attempts)
        return stored[1]
    holder = _holder(request)
    if not rules.cards.spend(plan.claims, now=int(at.timestamp()), holder=holder, attempts=attempts):
        return _twin_answer(uow, rules, request, plan.claims, holder, attempts)
    try:
        return _record(uow, request, plan, staff_id=sale.staff_id, amount_fen=sale.amount_fen, at=at)
    except Exception as error:
        # Refused or failed after spending the code: it stays spent, as nobody's (Cards.disown).
        rules.cards.disown(plan.claims)
        if isinstance(error, exc.IntegrityError):
            # A request with the same Idempotency-Key and another body (so another card code)
            # committed first: ``answered`` says the key was reused.
            with uow.read_only():
                if stored := request.answered(uow.connection):
                    return stored[1]
        raise


def _count(rules: TillRules, attempts: ratelimit.Limit) -> None:
    """An attempt that does not reach the spend (``Cards.spend`` counts the others): 429 past the
    limit, in place of whatever it was answered. With the cards' Redis client: one pool for both."""
    ratelimit.hit(
        rules.cards.redis, attempts.key, limit=attempts.limit, window_seconds=attempts.window_seconds
    )


def preview(uow: UnitOfWork, rules: TillRules, sale: Sale) -> dict:
    """What confirming this sale would answer now, and the member's vouchers the till may apply,
    spending nothing: the card code stays usable for the sale itself. The redemption's own checks
    run, so its answer is this one unless another till changes a budget, limit or voucher meanwhile.
    A bill no offer discounts previews as no offer, so that the till still sees the vouchers.

    A preview counts as one of the till's attempts, and a code already spent is refused as the sale
    would refuse it: the answer names the member's card and vouchers, which a screenshot of a spent
    code passed around must not keep showing for the rest of its minute."""
    check_amount(sale.amount_fen, rules.max_bill_fen)
    at = now()
    _count(
        rules, ratelimit.Limit(keys.redeem_attempts(sale.staff_id), rules.limit_per_minute, window_seconds=60)
    )
    plan = planned(_read(uow, rules, sale, at), rules.cards, sale, at, offer_optional=True)
    if rules.cards.holder(plan.claims) is not None:
        raise Conflict("card_token.used")
    with uow.read_only():
        usable = repository.usable_vouchers(uow.connection, plan.member.member_id, at)
    return {
        "offer_id": plan.offer.id if plan.offer else None,
        "offer_title": plan.offer.title if plan.offer else None,
        "card_no": plan.member.card_no,
        "amount_fen": sale.amount_fen,
        "discount_fen": plan.discount_fen,
        "voucher_id": plan.voucher_id,
        "voucher_fen": plan.voucher_fen,
        "payable_fen": sale.amount_fen - plan.discount_fen,
        "vouchers": [
            {"id": v.id, "value_fen": v.value_fen, "reason": v.reason, "expires_at": utc(v.expires_at)}
            for v in usable
        ],
    }


def _read(
    uow: UnitOfWork, rules: TillRules, sale: Sale, at: datetime, request: IdempotentRequest | None = None
) -> repository.TillRead:
    with uow.read_only():
        return repository.till_read(
            uow.connection,
            staff_id=sale.staff_id,
            store_id=sale.store_id,
            member_id=rules.cards.claimed_member_id(sale.card_token),
            at=at,
            offer_id=sale.offer_id,
            voucher_id=sale.voucher_id,
            scope=request.scope if request else None,
            key=request.key if request else None,
        )


def _record(uow: UnitOfWork, request: IdempotentRequest, plan: Plan, *, staff_id, amount_fen, at) -> dict:
    member_id = plan.member.member_id
    exhausted = []
    try:
        with uow:
            conn = uow.connection
            result, writes = _redemption(uow, plan, staff_id=staff_id, amount_fen=amount_fen, at=at)
            # (statement, parameters, what refuses the sale when it writes nothing), in the order
            # rows are locked; sent with BEGIN, the budgets and COMMIT, and refused together.
            steps = []
            if plan.period is not None:
                offer = plan.choice.offer
                counting = repository.counting_use(conn, offer.id, member_id, plan.period, offer.member_limit)
                steps.append((*counting, Conflict("offer.limit_reached")))
            if plan.voucher_id is not None:
                spending = repository.spending_voucher(plan.voucher_id, member_id, at)
                steps.append((*spending, Conflict("voucher.used")))  # another till spent it since the read
            steps += [(*write, None) for write in writes]
            if (remembering := request.remembering(conn, 201, result)) is not None:
                steps.append((*remembering, KeyTaken()))
            budgets.commit_sale(uow, plan, at, exhausted, steps)
    except Conflict:
        # Lost the budget to another till after the read said it was there: the budget is as good
        # as spent, which is worth one event, recorded on its own since this transaction rolled back.
        for table, row_id in exhausted:
            with uow:
                budgets.announce_exhausted(uow, table, row_id, plan, at)
                uow.commit()
        raise
    return result


def _redemption(
    uow: UnitOfWork, plan: Plan, *, staff_id: str, amount_fen: int, at: datetime
) -> tuple[dict, list[tuple]]:
    """The answer, and the writes that record it: the redemption and its event."""
    offer, discount = plan.offer, plan.discount_fen
    row = {
        "id": str(uuid.uuid4()),
        "merchant_id": plan.merchant.id,
        "store_id": plan.merchant.store_id,
        "offer_id": offer.id if offer else None,
        "member_id": plan.member.member_id,
        "staff_id": staff_id,
        "amount_fen": amount_fen,
        "discount_fen": discount,
        "payable_fen": amount_fen - discount,
        # The union pays its share of the offer's part and all of the voucher's.
        "subsidy_fen": model.union_share(plan.offer_fen, plan.merchant.union_share_percent)
        + plan.voucher_fen,
        "voucher_id": plan.voucher_id,
        "voucher_fen": plan.voucher_fen,
        "usage_period": plan.period,
        "reversed_fen": 0,
        "created_at": at,
    }
    event = uow.event(
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
                "voucher_id",
                "voucher_fen",
            )
        }
        | {"redemption_id": row["id"], "occurred_at": at},
    )
    answer = {
        **{k: v for k, v in row.items() if k not in ("usage_period", "staff_id", "created_at")},
        "offer_title": offer.title if offer else None,
        "card_no": plan.member.card_no,
        "created_at": at.isoformat(),
    }
    return answer, [repository.adding_redemption(**row), uow.recording(event)]


def _holder(request: IdempotentRequest) -> str:
    """What the card code's spent nonce holds for this request: its scope and key, hashed (the key is
    the client's, and the scope names the till login). 64 bits tell apart the few requests that ever
    spend one code, and keep each of the hundreds of thousands of live nonces 32 bytes over enrolment's
    (docs/capacity.md, "Redis")."""
    return hashlib.sha256(f"{request.scope}\x00{request.key}".encode()).hexdigest()[:16]


def _twin_answer(
    uow: UnitOfWork,
    rules: TillRules,
    request: IdempotentRequest,
    claims,
    holder: str,
    attempts: ratelimit.Limit,
) -> dict:
    """A concurrent twin with the same Idempotency-Key spent the code: its answer, once committed.
    If it was refused or failed meanwhile, it gave the code up (Cards.disown) and so is this one.
    If it was past the till's rate limit, it gave the code back unspent (Cards.spend): this request
    is the same attempt and is answered as the twin was, 429, the member's code still usable."""
    deadline = time.monotonic() + rules.wait_seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
        with uow.read_only():
            if stored := request.answered(uow.connection):
                return stored[1]
        spender = rules.cards.holder(claims)
        if spender is None:
            ratelimit.refuse(rules.cards.redis, attempts)
        if spender != holder:
            raise Conflict("card_token.used")
    raise Conflict("idempotency_in_progress")
