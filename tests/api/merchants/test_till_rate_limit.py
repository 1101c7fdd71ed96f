"""The till's rate limit: every attempt of a till login counts, a sale's in the same Redis round trip
that spends the card code, and past the limit the till gets 429 with the member's code unspent."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import jwt
import pytest

from services.common import card_codes
from services.merchants import tables, till
from tests.api.merchants.conftest import MerchantsApi
from tests.support import build_app, dispose_app

LIMIT = 2


@pytest.fixture
def api(make_settings, mint, fake, clean_redis):
    app = build_app("merchants", make_settings(redeem_limit_per_minute=LIMIT))
    yield MerchantsApi(app.test_client(), app, mint, fake)
    dispose_app(app)


def _sale(api, shop, **extra) -> dict:
    code = api.fake.card_code(api.member())
    return {"card_token": code, "store_id": shop.store_id, "amount_fen": 5000, **extra}


def test_a_till_past_its_limit_gets_429_and_the_members_code_stays_usable(api):
    shop = api.shop()
    for _ in range(LIMIT):
        assert api.redeem(shop.till, _sale(api, shop)).status_code == 201
    body = _sale(api, shop)

    limited = api.redeem(shop.till, body)
    other_till = api.till(shop.merchant_id, shop.store_id)
    elsewhere = api.redeem(other_till, body)

    assert limited.status_code == 429
    assert limited.get_json()["code"] == "too_many_requests"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Another till login has a limit of its own, and the code was not spent.
    assert elsewhere.status_code == 201
    assert api.count(tables.redemptions) == LIMIT + 1


def test_refused_attempts_and_retries_count_against_the_limit_too(api):
    shop = api.shop()
    refused = api.redeem(shop.till, _sale(api, shop, store_id="no-such-store"))
    sold_body = _sale(api, shop)
    sold = api.redeem(shop.till, sold_body, key="counted-1")

    retry = api.redeem(shop.till, sold_body, key="counted-1")

    assert (refused.status_code, sold.status_code) == (422, 201)
    assert retry.status_code == 429  # the third attempt of the minute, though its answer is stored
    assert api.count(tables.redemptions) == 1


def test_a_twin_of_a_sale_given_back_past_the_limit_is_answered_429_with_the_code_usable(api, clean_redis):
    shop = api.shop()
    for _ in range(LIMIT - 1):
        assert api.redeem(shop.till, _sale(api, shop)).status_code == 201
    body = _sale(api, shop)
    # Its twin (the same till, the same key) spent the code first, as the limit's next attempt, and
    # is giving it back while this request waits for its answer.
    till_login = jwt.decode(shop.till["Authorization"].split()[1], options={"verify_signature": False})
    used = card_codes.used_key(api.fake.nonce(body["card_token"]))
    clean_redis.set(used, till._holder(SimpleNamespace(scope=f"redeem:{till_login['sub']}", key="twin-1")))
    given_back = threading.Timer(0.3, clean_redis.delete, [used])
    given_back.start()

    twin = api.redeem(shop.till, body, key="twin-1")
    given_back.join()
    elsewhere = api.redeem(api.till(shop.merchant_id, shop.store_id), body)

    assert twin.status_code == 429  # as its twin was answered, not 409: the code was never used
    assert 1 <= int(twin.headers["Retry-After"]) <= 60
    assert elsewhere.status_code == 201
    assert api.count(tables.redemptions) == LIMIT


def test_previews_count_against_the_limit_too(api):
    shop = api.shop()
    body = _sale(api, shop)
    previews = [
        api.send("POST", "/api/v1/redemptions/quote", json=body, headers=shop.till) for _ in range(LIMIT)
    ]

    sale = api.redeem(shop.till, body)

    assert [p.status_code for p in previews] == [200] * LIMIT
    assert sale.status_code == 429 and api.count(tables.redemptions) == 0
