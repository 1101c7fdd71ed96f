"""A sale at the till as it stands before anything is spent: every check that can refuse it
without spending (till.py's docstring gives their order), and what the offer and the voucher take off
the bill. The checks read nothing: the till reads all they need in one statement first
(repository.till_read). A redemption records a plan (till.py); a preview only shows it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from services.common import members
from services.common.clock import utc
from services.common.domain import Conflict, Forbidden, Invalid

from . import model
from .cards import Cards
from .model import Budget, Choice
from .repository import AtTill, TillRead, Voucher


@dataclass(frozen=True)
class Sale:
    """What the till sends for one bill: who asks, the member's card code, the store, the amount,
    and the offer and the voucher it names, if any."""

    staff_id: str
    card_token: str
    store_id: str
    amount_fen: int
    offer_id: str | None = None
    voucher_id: str | None = None


@dataclass(frozen=True)
class Plan:
    """A sale that passed every check, with what comes off the bill: the offer's discount and the
    voucher's part (``discount_fen`` is both), and the card claims whose nonce is still to spend."""

    merchant: AtTill
    member: members.Member
    choice: Choice | None  # None: no offer applies, and a voucher alone takes something off
    period: str | None
    claims: object
    voucher_id: str | None = None
    voucher_fen: int = 0

    @property
    def offer(self) -> model.Offer | None:
        return self.choice.offer if self.choice else None

    @property
    def offer_fen(self) -> int:
        return self.choice.discount_fen if self.choice else 0

    @property
    def discount_fen(self) -> int:
        return self.offer_fen + self.voucher_fen


def check_amount(amount_fen: int, max_bill_fen: int) -> None:
    if not 0 < amount_fen <= max_bill_fen:
        raise Invalid("amount.out_of_range", field="amount_fen", max_fen=max_bill_fen)


def planned(read: TillRead, cards: Cards, sale: Sale, at: datetime, *, offer_optional: bool) -> Plan:
    """The sale checked against what the till read (repository.till_read), refused with the first
    reason found, and priced: the offer's discount on the whole bill, then the voucher's part of what
    is left (model.voucher_part)."""
    merchant = read.merchant
    if merchant is None:
        raise Invalid("store.not_found", field="store_id")
    if not merchant.assigned:
        raise Forbidden("store.not_assigned")
    claims = cards.check(sale.card_token, now=int(at.timestamp()))
    # The read looked the member up by the id the code names before the code was checked; only a
    # member it vouches for counts.
    member = members.check_active(read.member if read.member_id == claims.member_id else None)
    voucher = None if sale.voucher_id is None else _presented(read.voucher, member.member_id, at)
    choice = _offer(read, merchant, sale, at, optional=offer_optional)
    plan = Plan(merchant, member, choice, choice.offer.period(at) if choice else None, claims)
    if voucher is None:
        return plan
    voucher_fen = model.voucher_part(voucher.value_fen, sale.amount_fen, plan.offer_fen)
    if voucher_fen == 0:
        raise Invalid("voucher.nothing_to_pay", field="voucher_id")  # it would be spent for nothing
    return replace(plan, voucher_id=voucher.id, voucher_fen=voucher_fen)


def _presented(voucher: Voucher | None, member_id: str, at: datetime) -> Voucher:
    """The voucher the till presents, if the member may spend it now: say exactly why not."""
    if voucher is None:
        raise Invalid("voucher.not_found", field="voucher_id")
    if voucher.member_id != member_id:
        raise Invalid("voucher.not_of_member", field="voucher_id")
    status = model.voucher_status(voucher.used_at, utc(voucher.expires_at), at)
    if status == model.USED:
        raise Conflict("voucher.used")
    if status == model.EXPIRED:
        raise Invalid("voucher.expired", field="voucher_id")
    return voucher


def _offer(read: TillRead, merchant: AtTill, sale: Sale, at: datetime, *, optional: bool):
    """The named offer, or the best that applies. None, when ``optional``, where no offer the till
    left to this service to choose applies (a voucher may still pay part of the bill); an offer the
    till named is refused with its reason either way."""
    offers, used = read.offers, read.used
    if sale.offer_id is not None:
        if not offers:
            raise Invalid("offer.not_found", field="offer_id")
        choice = _chosen(offers[0], merchant, sale.amount_fen, at, used.get(sale.offer_id, 0))
    else:
        choice = model.best(offers, sale.amount_fen, at, used)
        if choice is None:
            if optional:
                return None
            unfunded = [replace(o, budget=model.UNLIMITED) for o in offers]
            if model.best(unfunded, sale.amount_fen, at, used) is not None:
                raise Conflict("offer.budget_exhausted")  # one would apply, were its budget not spent
            raise Invalid("offer.none_applies", field="offer_id")
    if not merchant_budget(merchant).allows(choice.discount_fen):
        if optional and sale.offer_id is None:
            return None
        raise Conflict("merchant.budget_exhausted")
    return choice


def _chosen(offer: model.Offer, merchant: AtTill, amount_fen: int, at: datetime, used: int) -> Choice:
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


def merchant_budget(merchant: AtTill) -> Budget:
    return model.budget(merchant.budget_kind, merchant.budget_remaining)
