"""The discount rules, free of Flask and SQL: what an offer takes off a bill, when it is valid, how a
discount splits between merchant and union, and what a refund gives back.

Rounding (docs/merchants.md): every amount is integer fen and every division rounds DOWN, in the
member's disfavour by under one fen: a percent discount is ``amount * percent // 100``; the union's
share of a discount is ``discount * share // 100`` (the merchant carries the odd fen); a partial
refund gives back the discount in proportion, computed on the running total so that refunds adding
up to the whole bill give back exactly the whole discount.

A voucher (union-funded) comes after the offer: the offer's discount is worked out on the whole
bill, then the voucher takes off up to what is left to pay, never more; what it does not cover of
its value is forfeit with it, since a voucher is spent once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from services.common.clock import SHANGHAI

PERCENT, THRESHOLD, FIXED = "percent", "threshold", "fixed"
KINDS = (PERCENT, THRESHOLD, FIXED)
MONEY, COUNT = "money", "count"
BUDGET_KINDS = (MONEY, COUNT)
DAY, WEEK, CAMPAIGN = "day", "week", "campaign"
PERIODS = (DAY, WEEK, CAMPAIGN)


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime
    weekdays: tuple[int, ...] = ()  # ISO 1 (Monday) .. 7; empty: every day
    hours: tuple[time, time] | None = None  # local, [from, to)
    benefit_weeks: tuple[tuple[date, date], ...] = ()  # inclusive local dates; empty: any date

    def contains(self, at: datetime) -> bool:
        if not self.starts_at <= at < self.ends_at:
            return False
        local = at.astimezone(SHANGHAI)
        if self.weekdays and local.isoweekday() not in self.weekdays:
            return False
        if self.benefit_weeks and not any(a <= local.date() <= b for a, b in self.benefit_weeks):
            return False
        return self.hours is None or within_hours(local.time(), *self.hours)


def within_hours(now: time, start: time, end: time) -> bool:
    """``[start, end)`` in local time; an end before the start runs past midnight (22:00–02:00)."""
    if start <= end:
        return start <= now < end
    return now >= start or now < end


@dataclass(frozen=True)
class Budget:
    kind: str | None  # money | count | None (unlimited)
    remaining: int | None

    def cost(self, discount_fen: int) -> int:
        return 1 if self.kind == COUNT else discount_fen

    def allows(self, discount_fen: int) -> bool:
        return self.kind is None or (self.remaining or 0) >= self.cost(discount_fen)

    def has_left(self) -> bool:
        """Anything left to spend: a fen of money, or one use."""
        return self.allows(1)


UNLIMITED = Budget(None, None)


def budget(kind: str | None, remaining: int | None) -> Budget:
    """An offer's or a merchant's budget as its row holds it (no kind: unlimited)."""
    return Budget(kind, remaining) if kind else UNLIMITED


@dataclass(frozen=True)
class Offer:
    id: str
    merchant_id: str
    title: str
    kind: str
    window: Window
    percent_off: int | None = None
    cap_fen: int | None = None
    steps: tuple[tuple[int, int], ...] = ()  # (threshold_fen, off_fen), ascending thresholds
    fixed_fen: int | None = None
    member_limit: int | None = None
    limit_period: str | None = None
    budget: Budget = UNLIMITED

    def discount(self, amount_fen: int) -> int:
        """What this offer takes off a bill of ``amount_fen`` (0 when the bill does not qualify)."""
        if self.kind == PERCENT:
            off = amount_fen * self.percent_off // 100
            return min(off, self.cap_fen) if self.cap_fen is not None else off
        if self.kind == THRESHOLD:
            reached = [off for threshold, off in self.steps if amount_fen >= threshold]
            return min(max(reached), amount_fen) if reached else 0
        return min(self.fixed_fen or 0, amount_fen)

    def period(self, at: datetime) -> str | None:
        """The usage period a redemption at ``at`` counts in, if the offer limits members."""
        return None if self.member_limit is None else period(self.limit_period, at)


def period(limit_period: str | None, at: datetime) -> str:
    """The usage period of ``limit_period`` that ``at`` falls in."""
    local = at.astimezone(SHANGHAI).date()
    if limit_period == DAY:
        return f"day:{local.isoformat()}"
    if limit_period == WEEK:
        year, week, _ = local.isocalendar()
        return f"week:{year}-W{week:02d}"
    return CAMPAIGN


@dataclass(frozen=True)
class Choice:
    offer: Offer
    discount_fen: int


def best(offers, amount_fen: int, at: datetime, uses: dict[str, int]) -> Choice | None:
    """The offer that takes most off this bill now, of those the member may still use and whose
    budget covers it; ties go to the first (oldest) offer."""
    found = None
    for offer in offers:
        choice = applicable(offer, amount_fen, at, uses.get(offer.id, 0))
        if choice is not None and (found is None or choice.discount_fen > found.discount_fen):
            found = choice
    return found


def applicable(offer: Offer, amount_fen: int, at: datetime, used: int) -> Choice | None:
    if not offer.window.contains(at):
        return None
    if offer.member_limit is not None and used >= offer.member_limit:
        return None
    discount = offer.discount(amount_fen)
    if discount <= 0 or not offer.budget.allows(discount):
        return None
    return Choice(offer, discount)


def union_share(discount_fen: int, share_percent: int) -> int:
    return discount_fen * share_percent // 100


def voucher_part(value_fen: int, amount_fen: int, offer_fen: int) -> int:
    """What a voucher of ``value_fen`` takes off a bill that the offer already took ``offer_fen`` off."""
    return min(value_fen, amount_fen - offer_fen)


USABLE, USED, EXPIRED = "usable", "used", "expired"


def voucher_status(used_at: datetime | None, expires_at: datetime, at: datetime) -> str:
    """A spent voucher reads as used even once past its expiry: that is what happened to it."""
    if used_at is not None:
        return USED
    return EXPIRED if expires_at <= at else USABLE


def refund_share(total_fen: int, amount_fen: int, refunded_before: int, refunded_now: int) -> int:
    """The part of ``total_fen`` (a discount or subsidy) a refund of ``refunded_now`` gives back, when
    ``refunded_before`` of the bill ``amount_fen`` was refunded already."""
    after = total_fen * (refunded_before + refunded_now) // amount_fen
    return after - total_fen * refunded_before // amount_fen


@dataclass(frozen=True)
class Refunded:
    discount_fen: int  # the offer's part and the voucher's
    voucher_fen: int
    subsidy_fen: int  # the union's share of the offer's part, and the voucher's


def refunded(
    *, amount_fen: int, discount_fen: int, voucher_fen: int, subsidy_fen: int, before: int, now: int
) -> Refunded:
    """What a refund of ``now`` (``before`` refunded already) gives back of a redemption's discount.

    The offer's part and the voucher's are each given back in proportion on their own: one share of
    their sum could give the offer's budget a negative fen back on some refund, where two shares are
    never negative and each adds up to exactly its part over the whole bill. The union's share of the
    offer's part follows what is given back of that part, not the bill: rounded on its own, a refund
    could give back a fen of subsidy and none of the discount it subsidises (a statement line paying
    the merchant less than nothing)."""
    voucher = refund_share(voucher_fen, amount_fen, before, now)
    offer_fen, offer_subsidy = discount_fen - voucher_fen, subsidy_fen - voucher_fen
    offer_before = offer_fen * before // amount_fen
    offer_back = refund_share(offer_fen, amount_fen, before, now)
    subsidy_back = refund_share(offer_subsidy, offer_fen, offer_before, offer_back) if offer_fen else 0
    return Refunded(
        discount_fen=offer_back + voucher,
        voucher_fen=voucher,
        subsidy_fen=subsidy_back + voucher,
    )
