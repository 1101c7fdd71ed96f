"""Reversals give back budget and usage; statements and the union summary reconcile with the rows."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

from sqlalchemy import select

from schemas.events import benefits
from services.common.clock import SHANGHAI
from services.merchants import settlement, tables


def _month() -> str:
    return datetime.now(SHANGHAI).strftime("%Y-%m")


def test_a_full_reversal_gives_back_budget_and_the_members_use_and_emits_reversed(api):
    shop = api.shop(budget_kind="money", budget_total=10_000, member_limit=1, limit_period="week")
    member_id = api.member()
    redeemed = api.redeem_ok(shop, member_id, 5000)

    response = api.reverse(shop.till, redeemed["id"])

    assert response.status_code == 201
    assert response.get_json()["discount_fen"] == 500 and response.get_json()["fully_reversed"]
    assert api.row(tables.offers, shop.offer_id).budget_remaining == 10_000
    assert api.outbox_types()[-1] == benefits.REVERSED
    api.redeem_ok(shop, member_id, 5000)  # the weekly use came back


def test_partial_refunds_give_back_the_discount_in_proportion_and_add_up_exactly(api):
    shop = api.shop(percent_off=15, budget_kind="money", budget_total=100_000)
    redeemed = api.redeem_ok(shop, api.member(), 1001)  # discount 150 (1001 * 15 // 100)
    backs = [
        api.reverse(shop.till, redeemed["id"], amount).get_json()["discount_fen"]
        for amount in (333, 333, 335)
    ]

    assert redeemed["discount_fen"] == 150
    assert sum(backs) == 150
    assert api.row(tables.offers, shop.offer_id).budget_remaining == 100_000
    again = api.reverse(shop.till, redeemed["id"], 1)
    assert again.status_code == 409 and again.get_json()["code"] == "redemption.fully_reversed"


def test_a_refund_larger_than_what_is_left_is_refused(api):
    shop = api.shop()
    redeemed = api.redeem_ok(shop, api.member(), 5000)

    response = api.reverse(shop.till, redeemed["id"], 5001)

    assert response.status_code == 422
    assert response.get_json()["code"] == "redemption.refund_too_large"
    assert api.count(tables.reversals) == 0


def test_a_reversal_retried_with_its_key_applies_once(api):
    shop = api.shop()
    redeemed = api.redeem_ok(shop, api.member(), 5000)

    first = api.reverse(shop.till, redeemed["id"], 1000, key="rev-1")
    again = api.reverse(shop.till, redeemed["id"], 1000, key="rev-1")

    assert first.get_json() == again.get_json()
    assert api.count(tables.reversals) == 1


def test_another_merchants_till_cannot_reverse(api):
    shop, other = api.shop(), api.shop()
    redeemed = api.redeem_ok(shop, api.member(), 5000)

    response = api.reverse(other.till, redeemed["id"])

    assert response.status_code == 404
    assert api.count(tables.reversals) == 0


def _statement(api, merchant_id, **params):
    query = "&".join(f"{k}={v}" for k, v in {"month": _month(), **params}.items())
    return api.send("GET", f"/api/v1/merchants/{merchant_id}/statement?{query}", headers=api.admin)


def test_the_monthly_statement_totals_reconcile_exactly_with_the_redemption_rows(api):
    merchant_id = api.merchant(union_share_percent=40)
    store_id = api.store(merchant_id)
    api.offer(merchant_id, "percent", percent_off=7)
    till = api.till(merchant_id, store_id)
    from tests.api.merchants.conftest import Shop

    shop = Shop(merchant_id, store_id, "", till)
    ids = [api.redeem_ok(shop, api.member(), amount)["id"] for amount in (999, 12345, 101, 77777)]
    api.reverse(till, ids[1], 4321)

    body = _statement(api, merchant_id).get_json()

    with api.engine().connect() as conn:
        rows = conn.execute(
            select(tables.redemptions).where(tables.redemptions.c.merchant_id == merchant_id)
        ).all()
        backs = conn.execute(
            select(tables.reversals).where(tables.reversals.c.merchant_id == merchant_id)
        ).all()
    gross = sum(r.amount_fen for r in rows) - sum(b.amount_fen for b in backs)
    discount = sum(r.discount_fen for r in rows) - sum(b.discount_fen for b in backs)
    subsidy = sum(r.subsidy_fen for r in rows) - sum(b.subsidy_fen for b in backs)
    assert body["totals"] == {
        "count": 4,
        "reversals": 1,
        "gross_fen": gross,
        "discount_fen": discount,
        "subsidy_fen": subsidy,
        "net_fen": gross - discount + subsidy,
        "voucher_fen": 0,
    }
    assert all(r.subsidy_fen == r.discount_fen * 40 // 100 for r in rows)
    for key in ("gross_fen", "discount_fen", "subsidy_fen", "net_fen"):
        assert sum(line[key] for line in body["lines"]) == body["totals"][key]


def test_a_statement_is_final_only_once_its_month_is_over_and_its_last_sales_committed(api, monkeypatch):
    merchant_id = api.merchant()
    assert _statement(api, merchant_id).get_json()["final"] is False  # the running month
    assert _statement(api, merchant_id, month="2025-01").get_json()["final"] is True

    ended = datetime(2025, 2, 1, tzinfo=SHANGHAI)  # 2025-01 ends at midnight, Shanghai
    monkeypatch.setattr(settlement, "now", lambda: ended + timedelta(minutes=1))
    assert _statement(api, merchant_id, month="2025-01").get_json()["final"] is False
    monkeypatch.setattr(settlement, "now", lambda: ended + settlement.SETTLED_AFTER)
    assert _statement(api, merchant_id, month="2025-01").get_json()["final"] is True


def test_the_statement_comes_as_csv_by_accept_header_or_format(api):
    shop = api.shop()
    api.redeem_ok(shop, api.member(), 5000)
    json_totals = _statement(api, shop.merchant_id).get_json()["totals"]

    by_param = _statement(api, shop.merchant_id, format="csv")
    by_accept = api.send(
        "GET",
        f"/api/v1/merchants/{shop.merchant_id}/statement?month={_month()}",
        headers={**api.admin, "Accept": "text/csv"},
    )

    assert by_param.mimetype == by_accept.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(by_param.get_data(as_text=True))))
    assert rows[0][0] == "kind" and rows[1][0] == "redemption"
    total = rows[-1]
    assert (
        total[0] == "total"
        and int(total[6]) == json_totals["gross_fen"]
        and int(total[9]) == json_totals["net_fen"]
    )


def test_a_malformed_month_is_a_validation_problem(api):
    shop = api.shop()

    response = _statement(api, shop.merchant_id, month="2026-13")

    assert response.status_code == 422


def test_an_admin_outside_the_merchants_subtree_sees_no_statement(api):
    shop = api.shop()
    from tests.api.merchants.conftest import BRANCH_B

    response = api.send(
        "GET",
        f"/api/v1/merchants/{shop.merchant_id}/statement?month={_month()}",
        headers=api.mint.admin(BRANCH_B),
    )

    assert response.status_code == 404


def test_the_union_summary_counts_spend_discount_and_unique_members(api):
    shop = api.shop(percent_off=10)
    alice, bob = api.member(), api.member()
    api.redeem_ok(shop, alice, 10_000)
    api.redeem_ok(shop, alice, 20_000)
    refunded = api.redeem_ok(shop, bob, 5_000)
    api.reverse(shop.till, refunded["id"])

    body = api.send("GET", f"/api/v1/merchants/summary?month={_month()}", headers=api.admin).get_json()

    assert body["total_spend_fen"] == 30_000
    assert body["total_discount_fen"] == 3_000
    assert body["unique_members"] == 2
    assert body["redemptions"] == 3
