"""The till: redeeming against a scanned card, and every refusal changing nothing."""

from __future__ import annotations

import threading

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from sqlalchemy import select

from schemas.events import benefits
from schemas.events import members as m
from services.common import card_codes
from services.merchants import repository, tables
from tests.api.merchants.conftest import MerchantsApi, Shop, window
from tests.support import build_app, deliver, dispose_app, http_server, member_event


def test_a_till_redeems_the_offer_and_answers_discount_and_payable(api):
    shop = api.shop(percent_off=10, cap_fen=2000)
    member_id = api.member()

    body = api.redeem_ok(shop, member_id, 12345)

    assert (body["discount_fen"], body["payable_fen"], body["offer_id"]) == (1234, 11111, shop.offer_id)
    assert api.count(tables.redemptions) == 1
    assert api.outbox_types() == [benefits.REDEEMED]


def test_a_retry_with_the_same_idempotency_key_returns_the_same_redemption(api):
    shop = api.shop()
    body = {"card_token": api.fake.card_code(api.member()), "store_id": shop.store_id, "amount_fen": 5000}

    first = api.redeem(shop.till, body, key="till-retry-1")
    again = api.redeem(shop.till, body, key="till-retry-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_json() == again.get_json()
    assert api.count(tables.redemptions) == 1


def test_a_redemption_without_an_idempotency_key_is_refused(api):
    shop = api.shop()
    body = {"card_token": api.fake.card_code(api.member()), "store_id": shop.store_id, "amount_fen": 5000}

    response = api.send("POST", "/api/v1/redemptions", json=body, headers=shop.till)

    assert response.status_code == 422
    assert response.get_json()["code"] == "idempotency_key.required"


def test_a_card_code_used_twice_gets_409(api):
    shop = api.shop()
    code = api.fake.card_code(api.member())

    first = api.redeem(shop.till, {"card_token": code, "store_id": shop.store_id, "amount_fen": 5000})
    second = api.redeem(shop.till, {"card_token": code, "store_id": shop.store_id, "amount_fen": 5000})

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.get_json()["code"] == "card_token.used"
    assert api.count(tables.redemptions) == 1


@pytest.mark.parametrize("event", [m.SUSPENDED, m.LEFT])
def test_a_member_who_is_not_active_is_refused_with_403(api, event):
    shop = api.shop()
    member_id = api.member()
    deliver(api.app, member_event(event, member_id))

    response = api.redeem(
        shop.till,
        {"card_token": api.fake.card_code(member_id), "store_id": shop.store_id, "amount_fen": 5000},
    )

    assert response.status_code == 403
    assert response.get_json()["code"] in ("member.suspended", "member.left")
    assert api.count(tables.redemptions) == 0


def test_a_member_the_projection_never_saw_is_refused(api):
    shop = api.shop()
    import uuid

    response = api.redeem(
        shop.till,
        {"card_token": api.fake.card_code(str(uuid.uuid4())), "store_id": shop.store_id, "amount_fen": 5000},
    )

    assert response.status_code == 403
    assert response.get_json()["code"] == "member.unknown"


def test_till_staff_of_merchant_a_get_403_at_merchant_b_store(api):
    a = api.shop()
    b = api.shop()

    response = api.redeem(
        a.till, {"card_token": api.fake.card_code(api.member()), "store_id": b.store_id, "amount_fen": 5000}
    )

    assert response.status_code == 403
    assert response.get_json()["code"] == "store.not_assigned"
    assert api.count(tables.redemptions) == 0


def test_a_till_serves_only_the_stores_it_is_assigned_even_of_its_own_merchant(api):
    merchant_id = api.merchant()
    first, second = api.store(merchant_id), api.store(merchant_id)
    api.offer(merchant_id)
    till = api.till(merchant_id, first)

    response = api.redeem(
        till, {"card_token": api.fake.card_code(api.member()), "store_id": second, "amount_fen": 5000}
    )

    assert response.status_code == 403


def test_a_token_claiming_a_store_does_not_let_a_till_act_there(api):
    shop = api.shop()
    claimed = api.mint.headers(
        "staff:someone", ["till"], merchant_id=shop.merchant_id, store_ids=[shop.store_id]
    )

    response = api.redeem(
        claimed,
        {"card_token": api.fake.card_code(api.member()), "store_id": shop.store_id, "amount_fen": 5000},
    )

    assert response.status_code == 403


def _bad_inputs(api, shop, other, member_id):
    forged = api.fake.card_code(member_id, key=Ed25519PrivateKey.generate())
    expired = api.fake.card_code(member_id, ttl=-1)
    return {
        "negative amount": ({"amount_fen": -100}, 422, "amount.out_of_range"),
        "zero amount": ({"amount_fen": 0}, 422, "amount.out_of_range"),
        "absurd amount": ({"amount_fen": 10**12}, 422, "amount.out_of_range"),
        "fractional amount": ({"amount_fen": 10.5}, 422, "validation_failed"),
        "unknown store": ({"store_id": "no-such-store"}, 422, "store.not_found"),
        "offer of another merchant": ({"offer_id": other.offer_id}, 422, "offer.not_of_merchant"),
        "unknown offer": ({"offer_id": "no-such-offer"}, 422, "offer.not_found"),
        "expired card code": ({"card_token": expired}, 422, "card_token.expired"),
        "forged card code": ({"card_token": forged}, 422, "card_token.signature"),
        "other-format card code": ({"card_token": "eyJhbGciOiJIUzI1NiJ9.e30.x"}, 422, "card_token.malformed"),
        "lower-case card code": (
            {"card_token": api.fake.card_code(member_id).lower()},
            422,
            "card_token.malformed",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "negative amount",
        "zero amount",
        "absurd amount",
        "fractional amount",
        "unknown store",
        "offer of another merchant",
        "unknown offer",
        "expired card code",
        "forged card code",
        "other-format card code",
        "lower-case card code",
    ],
)
def test_bad_input_at_the_till_is_a_clear_problem_and_changes_nothing(api, case):
    shop, other = api.shop(), api.shop()
    member_id = api.member()
    code = api.fake.card_code(member_id)
    change, status, problem = _bad_inputs(api, shop, other, member_id)[case]
    before = api.outbox_types()

    response = api.redeem(
        shop.till, {"card_token": code, "store_id": shop.store_id, "amount_fen": 5000, **change}
    )

    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["code"] == problem
    assert response.get_json()["detail"]
    assert api.count(tables.redemptions) == 0
    assert api.outbox_types() == before
    # The refusal came before the card's nonce was spent: the same code still works.
    retry = api.redeem(shop.till, {"card_token": code, "store_id": shop.store_id, "amount_fen": 5000})
    assert retry.status_code == 201, retry.get_data(as_text=True)


def test_problems_speak_english_when_asked(api):
    shop = api.shop()
    headers = {**shop.till, "Accept-Language": "en", "Idempotency-Key": "en-1"}
    body = {"card_token": api.fake.card_code(api.member()), "store_id": shop.store_id, "amount_fen": -1}

    response = api.send("POST", "/api/v1/redemptions", json=body, headers=headers)

    assert "between 1 fen" in response.get_json()["detail"]


def test_an_offer_outside_its_window_is_refused_and_leaves_the_code_usable(api):
    merchant_id = api.merchant()
    store_id = api.store(merchant_id)
    later = api.offer(merchant_id, **window(days_before=-2, days_after=9))
    till = api.till(merchant_id, store_id)
    code = api.fake.card_code(api.member())

    response = api.redeem(
        till, {"card_token": code, "store_id": store_id, "amount_fen": 5000, "offer_id": later}
    )

    assert response.status_code == 422
    assert response.get_json()["code"] == "offer.outside_window"
    assert api.count(tables.redemptions) == 0


def test_without_an_applicable_offer_the_till_is_told_so(api):
    merchant_id = api.merchant()
    store_id = api.store(merchant_id)
    api.offer(merchant_id, "threshold", steps=[[10000, 1000]])
    till = api.till(merchant_id, store_id)

    response = api.redeem(
        till, {"card_token": api.fake.card_code(api.member()), "store_id": store_id, "amount_fen": 9999}
    )

    assert response.status_code == 422
    assert response.get_json()["code"] == "offer.none_applies"


def test_the_best_offer_is_chosen_when_the_till_names_none(api):
    merchant_id = api.merchant()
    store_id = api.store(merchant_id)
    api.offer(merchant_id, "percent", percent_off=5)
    stepped = api.offer(merchant_id, "threshold", steps=[[10000, 1000], [20000, 2500]])
    api.offer(merchant_id, "fixed", fixed_fen=800)
    till = api.till(merchant_id, store_id)

    body = api.redeem(
        till, {"card_token": api.fake.card_code(api.member()), "store_id": store_id, "amount_fen": 21000}
    ).get_json()

    assert (body["offer_id"], body["discount_fen"], body["payable_fen"]) == (stepped, 2500, 18500)


def test_a_per_member_daily_limit_refuses_the_second_use_but_not_another_member(api):
    shop = api.shop(member_limit=1, limit_period="day")
    member_id, other = api.member(), api.member()
    api.redeem_ok(shop, member_id, 5000)

    again = api.redeem(
        shop.till,
        {
            "card_token": api.fake.card_code(member_id),
            "store_id": shop.store_id,
            "amount_fen": 5000,
            "offer_id": shop.offer_id,
        },
    )

    assert again.status_code == 409
    assert again.get_json()["code"] == "offer.limit_reached"
    api.redeem_ok(shop, other, 5000)


def test_a_count_budget_is_spent_to_zero_then_refused_and_exhaustion_is_announced_once(api):
    shop = api.shop(budget_kind="count", budget_total=2)
    for _ in range(2):
        api.redeem_ok(shop, api.member(), 5000)

    refused = api.redeem(
        shop.till,
        {
            "card_token": api.fake.card_code(api.member()),
            "store_id": shop.store_id,
            "amount_fen": 5000,
            "offer_id": shop.offer_id,
        },
    )

    assert refused.status_code == 409
    assert refused.get_json()["code"] == "offer.budget_exhausted"
    assert api.row(tables.offers, shop.offer_id).budget_remaining == 0
    assert api.outbox_types().count(benefits.BUDGET_EXHAUSTED) == 1


MONEY_1000 = {"budget_kind": "money", "budget_total": 1000}


@pytest.mark.parametrize(
    ("offer_budget", "merchant_budget", "ran_out"),
    [
        (MONEY_1000, {}, [benefits.OFFER_BUDGET]),
        ({}, MONEY_1000, [benefits.MERCHANT_BUDGET]),
        (MONEY_1000, MONEY_1000, [benefits.OFFER_BUDGET, benefits.MERCHANT_BUDGET]),
    ],
    ids=["offer", "merchant", "both"],
)
def test_an_exhausted_budget_is_announced_as_the_offers_or_the_merchants_keyed_by_the_merchant(
    api, offer_budget, merchant_budget, ran_out
):
    merchant_id = api.merchant(**merchant_budget)
    store_id = api.store(merchant_id)
    offer_id = api.offer(merchant_id, "fixed", fixed_fen=1000, **offer_budget)
    shop = Shop(merchant_id, store_id, offer_id, api.till(merchant_id, store_id))

    api.redeem_ok(shop, api.member(), 5000)  # ¥10 off: the last of each budget

    announced = api.events(benefits.BUDGET_EXHAUSTED)
    assert [event["budget"] for event in announced] == ran_out
    assert {(event["offer_id"], event["merchant_id"]) for event in announced} == {(offer_id, merchant_id)}
    o = tables.outbox
    with api.engine().connect() as conn:
        keys = conn.execute(select(o.c.key).where(o.c.type == benefits.BUDGET_EXHAUSTED)).scalars().all()
    assert keys == [merchant_id] * len(ran_out)


def test_a_merchant_money_budget_caps_every_offer_of_the_merchant(api):
    merchant_id = api.merchant(budget_kind="money", budget_total=1500)
    store_id = api.store(merchant_id)
    api.offer(merchant_id, "fixed", fixed_fen=1000)
    till = api.till(merchant_id, store_id)
    shop_body = {"store_id": store_id, "amount_fen": 5000}

    first = api.redeem(till, {**shop_body, "card_token": api.fake.card_code(api.member())})
    second = api.redeem(till, {**shop_body, "card_token": api.fake.card_code(api.member())})

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.get_json()["code"] == "merchant.budget_exhausted"
    assert api.row(tables.merchants, merchant_id).budget_remaining == 500


def test_enrolment_being_down_does_not_stop_the_till_once_keys_were_seen(api):
    shop = api.shop()
    api.redeem_ok(shop, api.member(), 5000)  # the keys are fetched and kept
    api.fake.down = True

    api.redeem_ok(shop, api.member(), 5000)


def test_a_fresh_process_checks_cards_with_the_keys_kept_in_redis_while_enrolment_is_down(api, make_settings):
    from tests.support import build_app, dispose_app

    shop = api.shop()
    api.redeem_ok(shop, api.member(), 5000)
    api.fake.down = True
    fresh = build_app("merchants", make_settings())
    try:
        from tests.api.merchants.conftest import MerchantsApi

        other = MerchantsApi(fresh.test_client(), fresh, api.mint, api.fake)
        sold = other.redeem_ok(shop, api.member(), 5000)
    finally:
        dispose_app(fresh)
    # Both processes share one database file and one Redis: the fresh one's sale is on record.
    assert api.row(tables.redemptions, sold["id"]).amount_fen == 5000


def test_a_fresh_process_checks_staff_tokens_with_the_jwks_kept_in_its_database_while_enrolment_is_down(
    api, make_settings
):
    shop = api.shop()
    enrolment = Flask("enrolment-jwks")
    down = threading.Event()

    @enrolment.get("/.well-known/jwks.json")
    def jwks():
        return ("down", 503) if down.is_set() else api.mint.issuer.jwks()

    def sell(settings) -> None:
        app = build_app("merchants", settings)
        try:
            MerchantsApi(app.test_client(), app, api.mint, api.fake).redeem_ok(shop, api.member(), 5000)
        finally:
            dispose_app(app)

    with http_server(enrolment) as base:
        settings = make_settings(jwks_url=f"{base}/.well-known/jwks.json")
        sell(settings)  # the till's token checked with the JWKS fetched, which merchants keeps
        down.set()
        api.fake.down = True  # the card keys too: that sale left them in Redis
        sell(settings)  # a process started during the outage


def test_a_code_is_single_use_across_the_till_and_enrolment(api, clean_redis):
    shop = api.shop()
    enrolment = card_codes.RedisUsedTokens(clean_redis)  # how enrolment's own redemption marks a code
    spent_at_enrolment = api.fake.card_code(api.member())
    assert enrolment.mark_used(api.fake.nonce(spent_at_enrolment), 60)
    spent_at_the_till = api.fake.card_code(api.member())

    refused = api.redeem(
        shop.till, {"card_token": spent_at_enrolment, "store_id": shop.store_id, "amount_fen": 5000}
    )
    api.redeem(shop.till, {"card_token": spent_at_the_till, "store_id": shop.store_id, "amount_fen": 5000})

    assert refused.get_json()["code"] == "card_token.used"
    assert not enrolment.mark_used(api.fake.nonce(spent_at_the_till), 60)
    assert api.count(tables.redemptions) == 1


def test_a_sale_refused_after_its_code_was_spent_gets_its_retry_refused_at_once(api, monkeypatch):
    shop = api.shop(budget_kind="count", budget_total=5)
    body = {"card_token": api.fake.card_code(api.member()), "store_id": shop.store_id, "amount_fen": 5000}
    # Another till takes the last of the budget between this sale's read and its write.
    monkeypatch.setattr(repository, "spend_offer_budget", lambda *_: None)
    lost = api.redeem(shop.till, body, key="lost-1")
    monkeypatch.undo()

    retry = api.redeem(shop.till, body, key="lost-1")

    assert lost.get_json()["code"] == "offer.budget_exhausted"
    # Not a twin to wait for (which would end in idempotency_in_progress after the wait): the code
    # is spent, and nobody's.
    assert retry.get_json()["code"] == "card_token.used"
    assert api.count(tables.redemptions) == 0
