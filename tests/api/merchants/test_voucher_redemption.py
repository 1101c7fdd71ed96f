"""Vouchers spent at the till: after the offer and never below zero, once, refused with a reason that
changes nothing, previewed before the card code is spent, given back by a refund of the whole bill,
and counted as union subsidy in the statement and the summary."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from schemas.events import benefits
from services.common.clock import SHANGHAI
from services.merchants import tables
from services.merchants.messages import MESSAGES
from tests.api.merchants.conftest import Shop


def _sale(api, shop: Shop, member_id: str, amount_fen: int, **extra) -> dict:
    code = api.fake.card_code(member_id)
    return {"card_token": code, "store_id": shop.store_id, "amount_fen": amount_fen, **extra}


def _mine(api, member_id: str) -> dict[str, dict]:
    body = api.send("GET", "/api/v1/vouchers/me", headers=api.mint.member(member_id)).get_json()
    return {v["id"]: v for v in body["vouchers"]}


def _expire(api, voucher_id: str) -> None:
    v = tables.vouchers
    with api.engine().begin() as conn:
        conn.execute(
            update(v).where(v.c.id == voucher_id).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )


def _preview(api, shop: Shop, body: dict, **headers):
    return api.send("POST", "/api/v1/redemptions/quote", json=body, headers={**shop.till, **headers})


def _shop(api, *, union_share_percent: int = 0, **offer) -> Shop:
    merchant_id = api.merchant(union_share_percent=union_share_percent)
    store_id = api.store(merchant_id)
    offer_id = api.offer(merchant_id, **offer)
    return Shop(merchant_id, store_id, offer_id, api.till(merchant_id, store_id))


def test_a_voucher_pays_part_of_what_the_offer_leaves_and_the_union_funds_all_of_it(api):
    shop = _shop(api, union_share_percent=40, percent_off=10)
    member_id = api.member()
    voucher_id = api.voucher(member_id, 1000)

    body = api.redeem_ok(shop, member_id, 5000, voucher_id=voucher_id)

    assert (body["offer_id"], body["voucher_id"]) == (shop.offer_id, voucher_id)
    assert (body["discount_fen"], body["voucher_fen"], body["payable_fen"]) == (1500, 1000, 3500)
    assert body["subsidy_fen"] == 500 * 40 // 100 + 1000
    assert _mine(api, member_id)[voucher_id]["status"] == "used"
    (event,) = api.events(benefits.REDEEMED)
    assert (event["voucher_id"], event["voucher_fen"], event["discount_fen"], event["payable_fen"]) == (
        voucher_id,
        1000,
        1500,
        3500,
    )


def test_a_voucher_worth_more_than_what_is_left_brings_the_bill_to_zero_and_no_lower(api):
    shop = api.shop("fixed", fixed_fen=500)
    member_id = api.member()
    voucher_id = api.voucher(member_id, 1000)

    body = api.redeem_ok(shop, member_id, 800, voucher_id=voucher_id)

    assert (body["discount_fen"], body["voucher_fen"], body["payable_fen"]) == (800, 300, 0)


def test_a_voucher_alone_discounts_a_bill_no_offer_applies_to_and_touches_no_offer_budget(api):
    shop = api.shop("threshold", steps=[[10000, 1000]], budget_kind="money", budget_total=5000)
    member_id = api.member()
    voucher_id = api.voucher(member_id, 1000)

    body = api.redeem_ok(shop, member_id, 3000, voucher_id=voucher_id)

    assert (body["offer_id"], body["offer_title"], body["discount_fen"], body["payable_fen"]) == (
        None,
        None,
        1000,
        2000,
    )
    assert body["subsidy_fen"] == 1000
    assert api.row(tables.offers, shop.offer_id).budget_remaining == 5000
    (today,) = api.send("GET", f"/api/v1/redemptions?store_id={shop.store_id}", headers=shop.till).get_json()
    assert (today["offer_title"], today["voucher_fen"]) == (None, 1000)
    assert api.events(benefits.REDEEMED)[0]["offer_id"] is None
    refunded = api.reverse(shop.till, body["id"]).get_json()
    assert (refunded["discount_fen"], refunded["voucher_returned"]) == (1000, True)
    assert api.row(tables.offers, shop.offer_id).budget_remaining == 5000


def test_a_merchant_out_of_budget_still_takes_the_unions_voucher(api):
    merchant_id = api.merchant(budget_kind="count", budget_total=1)
    store_id = api.store(merchant_id)
    api.offer(merchant_id, "fixed", fixed_fen=300)
    shop = Shop(merchant_id, store_id, "", api.till(merchant_id, store_id))
    api.redeem_ok(shop, api.member(), 1000)  # the merchant's one discount
    member_id = api.member()
    voucher_id = api.voucher(member_id, 500)

    body = api.redeem_ok(shop, member_id, 1000, voucher_id=voucher_id)

    assert (body["offer_id"], body["discount_fen"], body["voucher_fen"]) == (None, 500, 500)
    assert api.row(tables.merchants, merchant_id).budget_remaining == 0


def _refusals(api, shop: Shop, member_id: str) -> dict:
    """Each case: the voucher to present for a 5000 fen bill (set up as the case needs), the status
    and the code."""
    other_members = api.voucher(api.member())
    used = api.voucher(member_id)
    api.redeem_ok(shop, member_id, 5000, voucher_id=used)
    expired = api.voucher(member_id)
    _expire(api, expired)
    return {
        "unknown": ("no-such-voucher", 5000, 422, "voucher.not_found"),
        "another member's": (other_members, 5000, 422, "voucher.not_of_member"),
        "used": (used, 5000, 409, "voucher.used"),
        "expired": (expired, 5000, 422, "voucher.expired"),
        "nothing left to pay": (api.voucher(member_id), 400, 422, "voucher.nothing_to_pay"),
    }


@pytest.mark.parametrize("case", ["unknown", "another member's", "used", "expired", "nothing left to pay"])
def test_a_voucher_the_member_cannot_spend_is_a_clear_problem_and_changes_nothing(api, case):
    shop = api.shop("fixed", fixed_fen=500)
    member_id = api.member()
    voucher_id, amount, status, code = _refusals(api, shop, member_id)[case]
    body = _sale(api, shop, member_id, amount, voucher_id=voucher_id)
    with api.engine().connect() as conn:
        vouchers_before = conn.execute(select(tables.vouchers).order_by(tables.vouchers.c.id)).all()
    redemptions, events = api.count(tables.redemptions), api.outbox_types()

    chinese = api.redeem(shop.till, body)
    english = api.send(
        "POST",
        "/api/v1/redemptions",
        json=body,
        headers={**shop.till, "Idempotency-Key": f"en-{case}", "Accept-Language": "en"},
    )

    for response, language in ((chinese, "zh-CN"), (english, "en")):
        assert response.status_code == status, response.get_data(as_text=True)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.get_json()["code"] == code
        assert response.get_json()["detail"] == MESSAGES[code][language]
    assert api.count(tables.redemptions) == redemptions
    assert api.outbox_types() == events
    with api.engine().connect() as conn:
        assert conn.execute(select(tables.vouchers).order_by(tables.vouchers.c.id)).all() == vouchers_before
    # Refused before the card code's nonce was spent: the same code still pays without the voucher.
    retry = api.redeem(shop.till, {**body, "voucher_id": None})
    assert retry.status_code == 201, retry.get_data(as_text=True)


def test_a_retry_with_the_same_key_answers_the_same_and_spends_the_voucher_once(api):
    shop = api.shop()
    member_id = api.member()
    voucher_id = api.voucher(member_id, 700)
    body = _sale(api, shop, member_id, 5000, voucher_id=voucher_id)

    first = api.redeem(shop.till, body, key="voucher-retry")
    again = api.redeem(shop.till, body, key="voucher-retry")
    another_sale = api.redeem(shop.till, _sale(api, shop, member_id, 5000, voucher_id=voucher_id))

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_json() == again.get_json()
    assert first.get_json()["voucher_fen"] == 700
    assert (another_sale.status_code, another_sale.get_json()["code"]) == (409, "voucher.used")
    assert api.count(tables.redemptions) == 1
    assert len(api.events(benefits.REDEEMED)) == 1


def test_a_full_refund_gives_the_voucher_back_and_the_offer_budget_only_the_offers_part(api):
    shop = api.shop(percent_off=10, budget_kind="money", budget_total=10_000)
    member_id = api.member()
    voucher_id = api.voucher(member_id, 1000)
    redeemed = api.redeem_ok(shop, member_id, 5000, voucher_id=voucher_id)
    assert api.row(tables.offers, shop.offer_id).budget_remaining == 9_500

    response = api.reverse(shop.till, redeemed["id"])

    body = response.get_json()
    assert response.status_code == 201
    assert (body["discount_fen"], body["voucher_fen"], body["fully_reversed"], body["voucher_returned"]) == (
        1500,
        1000,
        True,
        True,
    )
    assert api.row(tables.offers, shop.offer_id).budget_remaining == 10_000
    assert _mine(api, member_id)[voucher_id]["status"] == "usable"
    assert api.events(benefits.REVERSED)[-1]["voucher_id"] == voucher_id
    api.redeem_ok(shop, member_id, 5000, voucher_id=voucher_id)  # spendable again


def test_a_full_refund_after_the_voucher_expired_leaves_it_used(api):
    shop = api.shop()
    member_id = api.member()
    voucher_id = api.voucher(member_id, 1000)
    redeemed = api.redeem_ok(shop, member_id, 5000, voucher_id=voucher_id)
    _expire(api, voucher_id)

    body = api.reverse(shop.till, redeemed["id"]).get_json()

    assert (body["fully_reversed"], body["voucher_returned"], body["voucher_fen"]) == (True, False, 1000)
    assert _mine(api, member_id)[voucher_id]["status"] == "used"
    assert api.events(benefits.REVERSED)[-1]["voucher_id"] is None


def test_partial_refunds_keep_the_voucher_spent_until_the_whole_bill_is_refunded(api):
    shop = api.shop(percent_off=15, budget_kind="money", budget_total=100_000)
    member_id = api.member()
    voucher_id = api.voucher(member_id, 777)
    redeemed = api.redeem_ok(shop, member_id, 1001, voucher_id=voucher_id)  # offer 150, voucher 777

    backs = []
    for amount in (333, 333, 335):
        backs.append(api.reverse(shop.till, redeemed["id"], amount).get_json())
        status = _mine(api, member_id)[voucher_id]["status"]
        assert status == ("usable" if backs[-1]["fully_reversed"] else "used")

    assert [b["voucher_returned"] for b in backs] == [False, False, True]
    assert sum(b["voucher_fen"] for b in backs) == 777
    assert sum(b["discount_fen"] for b in backs) == redeemed["discount_fen"] == 927
    assert sum(b["subsidy_fen"] for b in backs) == redeemed["subsidy_fen"]
    assert api.row(tables.offers, shop.offer_id).budget_remaining == 100_000


def test_each_partial_refund_gives_the_offer_budget_its_own_share_never_a_negative_one(api):
    # A 6 fen bill: the offer takes 1, the voucher 2. Shares of their sum (3) would give the budget
    # 1 fen back on the first refund and take it again on the second.
    shop = api.shop("fixed", fixed_fen=1, budget_kind="money", budget_total=100)
    member_id = api.member()
    redeemed = api.redeem_ok(shop, member_id, 6, voucher_id=api.voucher(member_id, 2))

    left = []
    for amount in (2, 1, 3):
        api.reverse(shop.till, redeemed["id"], amount)
        left.append(api.row(tables.offers, shop.offer_id).budget_remaining)

    assert (redeemed["discount_fen"], redeemed["voucher_fen"]) == (3, 2)
    assert left == [99, 99, 100]


def _month() -> str:
    return datetime.now(SHANGHAI).strftime("%Y-%m")


def test_the_statement_and_summary_count_vouchers_as_union_subsidy_and_reconcile_with_the_rows(api):
    shop = _shop(api, union_share_percent=40, percent_off=7)
    with_voucher, plain, small = api.member(), api.member(), api.member()
    first = api.redeem_ok(shop, with_voucher, 12345, voucher_id=api.voucher(with_voucher, 1000))
    api.redeem_ok(shop, plain, 999)
    api.redeem_ok(shop, small, 500, voucher_id=api.voucher(small, 5000))  # 35 off, then 465 of 5000
    api.reverse(shop.till, first["id"], 4321)

    query = f"/api/v1/merchants/{shop.merchant_id}/statement?month={_month()}"
    body = api.send("GET", query, headers=api.admin).get_json()
    summary = api.send("GET", f"/api/v1/merchants/summary?month={_month()}", headers=api.admin).get_json()
    sheet = list(
        csv.reader(
            io.StringIO(api.send("GET", query + "&format=csv", headers=api.admin).get_data(as_text=True))
        )
    )

    with api.engine().connect() as conn:
        rows = conn.execute(select(tables.redemptions)).all()
        backs = conn.execute(select(tables.reversals)).all()

    def net_of_refunds(key: str) -> int:
        return sum(getattr(r, key) for r in rows) - sum(getattr(b, key) for b in backs)

    gross, discount = net_of_refunds("amount_fen"), net_of_refunds("discount_fen")
    subsidy, voucher = net_of_refunds("subsidy_fen"), net_of_refunds("voucher_fen")
    assert body["totals"] == {
        "count": 3,
        "reversals": 1,
        "gross_fen": gross,
        "discount_fen": discount,
        "subsidy_fen": subsidy,
        "net_fen": gross - discount + subsidy,
        "voucher_fen": voucher,
    }
    assert all(r.subsidy_fen == (r.discount_fen - r.voucher_fen) * 40 // 100 + r.voucher_fen for r in rows)
    assert sorted(r.voucher_fen for r in rows) == [0, 465, 1000]
    for key in ("gross_fen", "discount_fen", "subsidy_fen", "net_fen", "voucher_fen"):
        assert sum(line[key] for line in body["lines"]) == body["totals"][key]
    assert (sheet[0][-1], int(sheet[-1][-1])) == ("voucher_fen", voucher)
    assert (summary["total_voucher_fen"], summary["total_subsidy_fen"], summary["total_discount_fen"]) == (
        voucher,
        subsidy,
        discount,
    )


def test_the_preview_lists_the_members_usable_vouchers_and_spends_nothing(api):
    shop = api.shop(percent_off=10)
    member_id = api.member()
    later = api.voucher(member_id, 1000, days=20)
    sooner = api.voucher(member_id, 500, days=3)
    api.redeem_ok(shop, member_id, 5000, voucher_id=api.voucher(member_id, 200))
    _expire(api, api.voucher(member_id, 300))
    api.voucher(api.member(), 400)
    body = _sale(api, shop, member_id, 5000)

    plain = _preview(api, shop, body)
    applied = _preview(api, shop, {**body, "voucher_id": later})
    confirmed = api.redeem(shop.till, {**body, "voucher_id": later})  # the same card code

    assert plain.status_code == 200, plain.get_data(as_text=True)
    assert [(v["id"], v["value_fen"]) for v in plain.get_json()["vouchers"]] == [(sooner, 500), (later, 1000)]
    assert {k: plain.get_json()[k] for k in ("offer_id", "discount_fen", "voucher_fen", "payable_fen")} == {
        "offer_id": shop.offer_id,
        "discount_fen": 500,
        "voucher_fen": 0,
        "payable_fen": 4500,
    }
    assert confirmed.status_code == 201, confirmed.get_data(as_text=True)
    for key in ("offer_id", "discount_fen", "voucher_id", "voucher_fen", "payable_fen", "card_no"):
        assert applied.get_json()[key] == confirmed.get_json()[key], key
    assert (applied.get_json()["voucher_fen"], applied.get_json()["payable_fen"]) == (1000, 3500)


def test_a_preview_of_a_bill_no_offer_applies_to_still_shows_the_vouchers(api):
    shop = api.shop("threshold", steps=[[10000, 1000]])
    member_id = api.member()
    voucher_id = api.voucher(member_id, 800)

    body = _preview(api, shop, _sale(api, shop, member_id, 3000)).get_json()

    assert (body["offer_id"], body["discount_fen"], body["payable_fen"]) == (None, 0, 3000)
    assert [v["id"] for v in body["vouchers"]] == [voucher_id]


def test_a_preview_refuses_what_the_sale_would_refuse(api):
    shop, other = api.shop(), api.shop()
    member_id = api.member()
    someone_elses = api.voucher(api.member())

    foreign_voucher = _preview(api, shop, _sale(api, shop, member_id, 5000, voucher_id=someone_elses))
    foreign_store = _preview(api, other, _sale(api, shop, member_id, 5000))

    assert (foreign_voucher.status_code, foreign_voucher.get_json()["code"]) == (422, "voucher.not_of_member")
    assert (foreign_store.status_code, foreign_store.get_json()["code"]) == (403, "store.not_assigned")


def test_a_preview_of_a_spent_card_code_is_refused_and_names_no_member(api):
    shop = api.shop()
    member_id = api.member()
    api.voucher(member_id, 500)
    body = _sale(api, shop, member_id, 5000)
    assert api.redeem(shop.till, body).status_code == 201

    again = _preview(api, shop, body)  # a screenshot of the code, passed on

    assert (again.status_code, again.get_json()["code"]) == (409, "card_token.used")
    assert "card_no" not in again.get_json() and "vouchers" not in again.get_json()


def test_a_member_sees_each_voucher_as_usable_used_or_expired(api):
    shop = api.shop()
    member_id = api.member()
    usable, used, expired = api.voucher(member_id), api.voucher(member_id), api.voucher(member_id)
    api.redeem_ok(shop, member_id, 5000, voucher_id=used)
    _expire(api, expired)

    mine = _mine(api, member_id)

    assert {v: mine[v]["status"] for v in (usable, used, expired)} == {
        usable: "usable",
        used: "used",
        expired: "expired",
    }
    assert mine[used]["used_at"] is not None and mine[usable]["used_at"] is None
