"""The reads the till page and the console's chart make: the till's stores, a quote before the card
is spent, the store's sales of the day, and redemptions per day and merchant."""

from __future__ import annotations

from services.merchants import tables


def test_a_till_lists_only_the_stores_it_serves_with_their_merchant(api):
    shop = api.shop()
    other_store = api.store(shop.merchant_id, name="另一家店")

    stores = api.send("GET", "/api/v1/redemptions/stores", headers=shop.till).get_json()

    assert [(s["id"], s["merchant_id"], s["merchant_name"]) for s in stores] == [
        (shop.store_id, shop.merchant_id, "合力超市")
    ]
    assert other_store not in {s["id"] for s in stores}


def test_a_quote_shows_the_best_offer_and_spends_nothing(api):
    shop = api.shop(percent_off=10, cap_fen=2000)

    quote = api.send(
        "GET", f"/api/v1/redemptions/quote?store_id={shop.store_id}&amount_fen=12345", headers=shop.till
    )

    assert quote.status_code == 200
    assert quote.get_json() == {
        "offer_id": shop.offer_id,
        "offer_title": "会员九折",
        "discount_fen": 1234,
        "payable_fen": 11111,
    }
    assert api.count(tables.redemptions) == 0


def test_a_quote_shows_no_offer_once_the_merchants_budget_is_spent(api):
    merchant_id = api.merchant(budget_kind="count", budget_total=1)
    store_id = api.store(merchant_id)
    offer_id = api.offer(merchant_id, "fixed")
    till = api.till(merchant_id, store_id)
    quote = f"/api/v1/redemptions/quote?store_id={store_id}&amount_fen=5000"
    before = api.send("GET", quote, headers=till).get_json()
    sale = {"card_token": api.fake.card_code(api.member()), "store_id": store_id, "amount_fen": 5000}
    assert api.redeem(till, sale).status_code == 201

    after = api.send("GET", quote, headers=till).get_json()
    sale = {"card_token": api.fake.card_code(api.member()), "store_id": store_id, "amount_fen": 5000}
    refused = api.redeem(till, sale)

    assert before["offer_id"] == offer_id
    # As the sale itself is answered: no discount of this merchant's is left to give.
    assert after == {"offer_id": None, "offer_title": None, "discount_fen": 0, "payable_fen": 5000}
    assert refused.get_json()["code"] == "merchant.budget_exhausted"


def test_a_quote_at_a_store_the_till_does_not_serve_is_refused(api):
    shop, other = api.shop(), api.shop()

    refused = api.send(
        "GET", f"/api/v1/redemptions/quote?store_id={other.store_id}&amount_fen=1000", headers=shop.till
    )

    assert (refused.status_code, refused.get_json()["code"]) == (403, "store.not_assigned")


def test_the_day_list_shows_the_stores_redemptions_to_its_till_only(api):
    shop, other = api.shop(), api.shop()
    done = api.redeem_ok(shop, api.member(), 5000)

    today = api.send("GET", f"/api/v1/redemptions?store_id={shop.store_id}", headers=shop.till)
    foreign = api.send("GET", f"/api/v1/redemptions?store_id={shop.store_id}", headers=other.till)

    assert today.status_code == 200
    (row,) = today.get_json()
    assert (row["id"], row["amount_fen"], row["discount_fen"], row["reversed_fen"]) == (
        done["id"],
        5000,
        500,
        0,
    )
    assert foreign.status_code == 403


def test_the_daily_figures_group_redemptions_by_day_and_merchant_in_the_admins_subtree(api):
    shop = api.shop()
    api.redeem_ok(shop, api.member(), 5000)
    api.redeem_ok(shop, api.member(), 3000)

    rows = api.send("GET", "/api/v1/merchants/daily?days=7", headers=api.admin).get_json()
    outside = api.send("GET", "/api/v1/merchants/daily", headers=api.mint.admin("branch-b")).get_json()

    (row,) = [r for r in rows if r["merchant_id"] == shop.merchant_id]
    assert (row["redemptions"], row["discount_fen"], row["merchant_name"]) == (2, 800, "合力超市")
    assert shop.merchant_id not in {r["merchant_id"] for r in outside}
