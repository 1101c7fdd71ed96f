"""The discount rules: kinds of offer, the rounding rule, windows with recurrence, limits, refunds."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.common.clock import SHANGHAI
from services.merchants.model import (
    COUNT,
    MONEY,
    Budget,
    Offer,
    Window,
    best,
    refund_share,
    refunded,
    union_share,
)

ALWAYS = Window(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def offer(kind="percent", **fields) -> Offer:
    return Offer(
        id=fields.pop("id", "o"),
        merchant_id="m",
        title="t",
        kind=kind,
        window=fields.pop("window", ALWAYS),
        **fields,
    )


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(12345, 1234), (9, 0), (19, 1), (100_000, 2000)],  # 1234.5 rounds down; the cap holds at 2000
)
def test_a_percent_discount_rounds_down_to_the_fen_and_stops_at_its_cap(amount, expected):
    assert offer(percent_off=10, cap_fen=2000).discount(amount) == expected


@pytest.mark.parametrize(
    ("amount", "expected"), [(9999, 0), (10000, 1000), (19999, 1000), (20000, 2500), (90000, 2500)]
)
def test_stepped_threshold_takes_the_highest_step_reached(amount, expected):
    assert offer("threshold", steps=((10000, 1000), (20000, 2500))).discount(amount) == expected


def test_a_fixed_discount_never_exceeds_the_bill():
    assert offer("fixed", fixed_fen=500).discount(300) == 300
    assert offer("fixed", fixed_fen=500).discount(3000) == 500


def test_the_union_share_rounds_down_and_the_merchant_carries_the_odd_fen():
    assert union_share(1235, 50) == 617
    assert union_share(1235, 0) == 0
    assert union_share(1235, 100) == 1235


def test_partial_refunds_give_back_the_whole_discount_when_they_add_up_to_the_bill():
    discount, amount, refunded, back = 150, 1001, 0, 0
    for part in (1, 333, 2, 665):
        back += refund_share(discount, amount, refunded, part)
        refunded += part
    assert back == discount


def test_a_weekday_and_hours_window_is_valid_only_on_those_days_and_hours():
    w = Window(ALWAYS.starts_at, ALWAYS.ends_at, weekdays=(6, 7), hours=(time(9), time(21)))
    assert w.contains(local(2026, 3, 7, 10, 0))  # Saturday 10:00 in Guiyang
    assert not w.contains(local(2026, 3, 7, 21, 0))  # the end is exclusive
    assert not w.contains(local(2026, 3, 6, 10, 0))  # Friday


def test_hours_may_run_past_midnight():
    w = Window(ALWAYS.starts_at, ALWAYS.ends_at, hours=(time(22), time(2)))
    assert w.contains(local(2026, 3, 7, 23, 30)) and w.contains(local(2026, 3, 8, 1, 0))
    assert not w.contains(local(2026, 3, 8, 3, 0))


def test_benefit_weeks_limit_an_offer_to_their_dates_in_local_time():
    w = Window(ALWAYS.starts_at, ALWAYS.ends_at, benefit_weeks=((date(2026, 3, 2), date(2026, 3, 8)),))
    assert w.contains(local(2026, 3, 2, 0, 5))  # 16:05 UTC on 1 March, already the 2nd in Guiyang
    assert not w.contains(local(2026, 3, 9, 0, 5))


def test_the_window_bounds_are_start_inclusive_end_exclusive():
    start = datetime(2026, 3, 1, tzinfo=UTC)
    w = Window(start, start + timedelta(days=1))
    assert w.contains(start) and not w.contains(start + timedelta(days=1))


def test_usage_periods_follow_the_local_day_and_iso_week():
    o = offer(member_limit=1, limit_period="week")
    assert o.period(local(2026, 3, 2, 0, 30)) == "week:2026-W10"
    assert offer(member_limit=1, limit_period="day").period(local(2026, 3, 2, 0, 30)) == "day:2026-03-02"
    assert offer(member_limit=1, limit_period="campaign").period(local(2026, 3, 2)) == "campaign"
    assert offer().period(local(2026, 3, 2)) is None


def test_the_best_offer_skips_used_up_limits_and_budgets():
    at = local(2026, 3, 7, 12)
    generous = offer(id="a", percent_off=50, member_limit=1, limit_period="day")
    funded = offer("fixed", id="b", fixed_fen=3000, budget=Budget(MONEY, 2999))
    counted = offer("fixed", id="c", fixed_fen=1000, budget=Budget(COUNT, 1))
    choice = best([generous, funded, counted], 10_000, at, {"a": 1})
    assert (choice.offer.id, choice.discount_fen) == ("c", 1000)
    assert best([generous], 10_000, at, {"a": 1}) is None


def test_a_refund_never_gives_back_more_subsidy_than_discount_and_the_whole_bill_gives_back_both():
    # A bill of 5 fen, 3 off, the union paying 2 of them, refunded 2, 1 and 2 fen at a time.
    before, given = 0, []
    for now in (2, 1, 2):
        back = refunded(amount_fen=5, discount_fen=3, voucher_fen=0, subsidy_fen=2, before=before, now=now)
        given.append((back.discount_fen, back.subsidy_fen))
        before += now
    assert all(subsidy <= discount for discount, subsidy in given)
    assert (sum(d for d, _ in given), sum(s for _, s in given)) == (3, 2)


def test_every_way_of_refunding_a_small_bill_keeps_each_line_and_the_whole_exact():
    # subsidy_fen counts the voucher (the union funds it whole), so it is never below it.
    for amount, discount, subsidy, voucher in ((7, 5, 3, 0), (9, 6, 4, 2), (10, 10, 10, 0), (11, 4, 1, 1)):
        for parts in itertools.product(range(1, 4), repeat=4):
            before, lines = 0, []
            for now in parts:
                now = min(now, amount - before)
                if now:
                    lines.append(
                        refunded(
                            amount_fen=amount,
                            discount_fen=discount,
                            voucher_fen=voucher,
                            subsidy_fen=subsidy,
                            before=before,
                            now=now,
                        )
                    )
                    before += now
            if before < amount:
                lines.append(
                    refunded(
                        amount_fen=amount,
                        discount_fen=discount,
                        voucher_fen=voucher,
                        subsidy_fen=subsidy,
                        before=before,
                        now=amount - before,
                    )
                )
            assert all(0 <= line.subsidy_fen <= line.discount_fen for line in lines)
            assert sum(line.discount_fen for line in lines) == discount
            assert sum(line.subsidy_fen for line in lines) == subsidy
            assert sum(line.voucher_fen for line in lines) == voucher
