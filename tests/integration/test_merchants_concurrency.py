"""The till under concurrency on PostgreSQL, over real HTTP: budgets are never overspent, twins
with one Idempotency-Key make one redemption (issue 10, tests), and a voucher is spent once; and
the budgets' statements sent with COMMIT (repository/budgets.py) mark and announce exhaustion."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from schemas.events import benefits
from services.merchants import model, tables
from tests.api.merchants.conftest import (  # noqa: F401 (fixtures)
    MerchantsApi,
    enrolment_fake,
    fake,
    make_settings,
    mint,
)
from tests.support import build_app, dispose_app, fresh_postgres_database, http_server

pytestmark = pytest.mark.integration  # tests/conftest.py skips (or fails) when PostgreSQL is absent


@pytest.fixture
def served(make_settings, mint, fake, clean_redis):  # noqa: F811
    with fresh_postgres_database("merchants_test") as url:
        app = build_app("merchants", make_settings(database_url=url))
        with http_server(app, "merchants") as base:
            yield MerchantsApi(app.test_client(), app, mint, fake), base
        dispose_app(app)


def _post(base: str, path: str, body: dict, headers: dict) -> requests.Response:
    return requests.post(base + path, json=body, headers=headers, timeout=60)


def test_200_concurrent_redemptions_against_a_budget_of_50_make_exactly_50(served):
    api, base = served
    shop = api.shop("fixed", fixed_fen=500, budget_kind="count", budget_total=50)
    members = [api.member() for _ in range(200)]
    bodies = [
        {"card_token": api.fake.card_code(m), "store_id": shop.store_id, "amount_fen": 3000} for m in members
    ]

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(
            pool.map(
                lambda ib: _post(
                    base, "/api/v1/redemptions", ib[1], {**shop.till, "Idempotency-Key": f"k-{ib[0]}"}
                ),
                enumerate(bodies),
            )
        )

    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 50, sorted(set(statuses))
    assert {a.json()["code"] for a in answers if a.status_code != 201} == {"offer.budget_exhausted"}
    assert api.count(tables.redemptions) == 50
    assert api.row(tables.offers, shop.offer_id).budget_remaining == 0
    assert api.outbox_types().count(benefits.BUDGET_EXHAUSTED) == 1


def test_a_merchant_money_budget_is_never_overspent_by_concurrent_tills(served):
    api, base = served
    merchant_id = api.merchant(budget_kind="money", budget_total=10_000)
    stores = [api.store(merchant_id) for _ in range(3)]
    api.offer(merchant_id, "fixed", fixed_fen=300)
    tills = [api.till(merchant_id, s) for s in stores]
    jobs = [(i, tills[i % 3], stores[i % 3], api.member()) for i in range(60)]

    with ThreadPoolExecutor(max_workers=30) as pool:
        answers = list(
            pool.map(
                lambda j: _post(
                    base,
                    "/api/v1/redemptions",
                    {"card_token": api.fake.card_code(j[3]), "store_id": j[2], "amount_fen": 1000},
                    {**j[1], "Idempotency-Key": f"m-{j[0]}"},
                ),
                jobs,
            )
        )

    assert [a.status_code for a in answers].count(201) == 33  # 33 × 300 = 9900 ≤ 10000 < 34 × 300
    with api.engine().connect() as conn:
        spent = conn.execute(select(func.sum(tables.redemptions.c.discount_fen))).scalar_one()
    assert spent == 9900
    assert api.row(tables.merchants, merchant_id).budget_remaining == 100
    # Never at zero, so announced by a till that found too little: once, however many did.
    assert api.outbox_types().count(benefits.BUDGET_EXHAUSTED) == 1


def test_the_sale_that_empties_a_budget_marks_and_announces_it_with_its_commit(served):
    api, _ = served
    shop = api.shop("fixed", fixed_fen=500, budget_kind="count", budget_total=2)
    api.redeem_ok(shop, api.member(), 3000)
    assert api.outbox_types().count(benefits.BUDGET_EXHAUSTED) == 0
    api.redeem_ok(shop, api.member(), 3000)
    emptied = api.row(tables.offers, shop.offer_id)

    refused = api.redeem(
        shop.till,
        {"card_token": api.fake.card_code(api.member()), "store_id": shop.store_id, "amount_fen": 3000},
    )

    assert (emptied.budget_remaining, emptied.exhausted_at is not None) == (0, True)
    assert refused.get_json()["code"] == "offer.budget_exhausted"
    assert api.row(tables.offers, shop.offer_id).exhausted_at == emptied.exhausted_at
    (announced,) = api.events(benefits.BUDGET_EXHAUSTED)
    assert (announced["offer_id"], announced["merchant_id"]) == (shop.offer_id, shop.merchant_id)
    assert api.count(tables.redemptions) == 2


def test_a_budget_another_till_took_after_the_read_rolls_back_the_sale_and_its_offer_spend(
    served, monkeypatch
):
    api, _ = served
    merchant_id, store_id, offer_id, till = _budgeted_twice(api, 1500, fixed_fen=1000, kind="count", total=5)
    assert api.redeem(till, _sale(api, store_id, 5000)).status_code == 201
    # The read sees budgets as they were before another till spent them: the statement finds out.
    monkeypatch.setattr(model.Budget, "allows", lambda _budget, _discount_fen: True)

    lost = api.redeem(till, _sale(api, store_id, 5000))

    assert (lost.status_code, lost.get_json()["code"]) == (409, "merchant.budget_exhausted")
    assert api.row(tables.offers, offer_id).budget_remaining == 4  # the first sale's spend alone
    merchant = api.row(tables.merchants, merchant_id)
    assert (merchant.budget_remaining, merchant.exhausted_at is not None) == (500, True)
    assert api.count(tables.redemptions) == 1
    assert api.outbox_types().count(benefits.REDEEMED) == 1
    assert api.outbox_types().count(benefits.BUDGET_EXHAUSTED) == 1  # announced by the sale that lost


def test_concurrent_requests_with_one_idempotency_key_make_one_redemption(served):
    api, base = served
    shop = api.shop()
    body = {"card_token": api.fake.card_code(api.member()), "store_id": shop.store_id, "amount_fen": 5000}
    headers = {**shop.till, "Idempotency-Key": "same-key"}

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: _post(base, "/api/v1/redemptions", body, headers), range(10)))

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert api.count(tables.redemptions) == 1


def test_a_per_member_limit_holds_under_concurrent_tills(served):
    api, base = served
    shop = api.shop(member_limit=2, limit_period="day")
    member_id = api.member()
    bodies = [
        {
            "card_token": api.fake.card_code(member_id),
            "store_id": shop.store_id,
            "amount_fen": 5000,
            "offer_id": shop.offer_id,
        }
        for _ in range(12)
    ]

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(
            pool.map(
                lambda ib: _post(
                    base, "/api/v1/redemptions", ib[1], {**shop.till, "Idempotency-Key": f"l-{ib[0]}"}
                ),
                enumerate(bodies),
            )
        )

    assert [a.status_code for a in answers].count(201) == 2
    assert api.count(tables.redemptions) == 2


def test_one_voucher_presented_at_several_tills_at_once_is_spent_once(served):
    api, base = served
    merchant_id = api.merchant()
    stores = [api.store(merchant_id) for _ in range(3)]
    api.offer(merchant_id, "fixed", fixed_fen=300)
    tills = [api.till(merchant_id, s) for s in stores]
    member_id = api.member()
    voucher_id = api.voucher(member_id, 1000)
    # Each till scanned its own fresh card code of the member: only the voucher is shared.
    jobs = [(i, tills[i % 3], stores[i % 3], api.fake.card_code(member_id)) for i in range(12)]

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(
            pool.map(
                lambda j: _post(
                    base,
                    "/api/v1/redemptions",
                    {"card_token": j[3], "store_id": j[2], "amount_fen": 5000, "voucher_id": voucher_id},
                    {**j[1], "Idempotency-Key": f"v-{j[0]}"},
                ),
                jobs,
            )
        )

    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 1, statuses
    assert {a.json()["code"] for a in answers if a.status_code != 201} == {"voucher.used"}
    assert api.count(tables.redemptions) == 1
    assert api.count(tables.redemptions, tables.redemptions.c.voucher_id == voucher_id) == 1
    assert api.row(tables.vouchers, voucher_id).used_at is not None


def test_a_budget_past_integers_range_is_kept_and_spent_on_postgresql(served):
    # ¥50M, more than INTEGER holds: PostgreSQL refused it (answered 500) before the budgets were BIGINT.
    api, _ = served
    merchant_id, store_id, offer_id, till = _budgeted_twice(
        api, 5_000_000_000, fixed_fen=500, kind="money", total=5_000_000_000
    )

    sold = api.redeem(till, _sale(api, store_id, 3000))

    assert sold.status_code == 201, sold.get_data(as_text=True)
    assert api.row(tables.offers, offer_id).budget_remaining == 5_000_000_000 - 500
    assert api.row(tables.merchants, merchant_id).budget_remaining == 5_000_000_000 - 500


def _budgeted_twice(api, merchant_fen: int, *, fixed_fen: int, kind: str, total: int) -> tuple:
    """A merchant with a money budget, its store, a fixed offer with a budget of its own, and a till:
    (merchant id, store id, offer id, the till's headers)."""
    merchant_id = api.merchant(budget_kind="money", budget_total=merchant_fen)
    store_id = api.store(merchant_id)
    offer_id = api.offer(merchant_id, "fixed", fixed_fen=fixed_fen, budget_kind=kind, budget_total=total)
    return merchant_id, store_id, offer_id, api.till(merchant_id, store_id)


def _sale(api, store_id: str, amount_fen: int) -> dict:
    return {"card_token": api.fake.card_code(api.member()), "store_id": store_id, "amount_fen": amount_fen}
