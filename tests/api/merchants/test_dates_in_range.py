"""Days and times a client names fall in the years every engine reads back (schemas.fields.YEARS):
an offer ending at 9999-12-31T23:59:59-05:00, the year 10000 in UTC, was stored on PostgreSQL and
then failed every sale of its merchant, since psycopg loads no such year. Each is refused by field,
in the caller's language, and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.merchants import tables
from tests.api.merchants.conftest import window

FAR = "9999-12-31T23:59:59-05:00"


def _errors(response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.get_json()
    return [(e["field"], e["code"]) for e in response.get_json()["errors"]]


@pytest.mark.parametrize(
    "dates",
    [
        {"ends_at": FAR},
        {"starts_at": "1899-12-31T00:00:00+08:00"},
        {"benefit_weeks": [["9999-12-30", "9999-12-31"]]},
    ],
    ids=["ends-in-10000", "starts-in-1899", "benefit-week-in-9999"],
)
def test_an_offer_beyond_the_years_is_refused_by_field_and_not_stored(api, dates):
    merchant_id = api.merchant()
    body = {
        "merchant_id": merchant_id,
        "title": "满减",
        "kind": "fixed",
        "fixed_fen": 500,
        **window(),
        **dates,
    }

    response = api.send("POST", "/api/v1/offers", json=body, headers=api.admin)

    errors = _errors(response)
    assert {code for _, code in errors} == {"date.out_of_range"}
    assert all(field.startswith(next(iter(dates))) for field, _ in errors)
    assert api.count(tables.offers) == 0


def test_a_voucher_expiring_beyond_the_years_is_refused_in_the_callers_language(api):
    member_id = api.member()
    body = {"member_id": member_id, "value_fen": 1000, "reason": "普惠周", "expires_at": FAR}
    headers = {**api.mint.admin("root"), "Idempotency-Key": "far-1", "Accept-Language": "zh-CN"}

    response = api.send("POST", "/api/v1/vouchers", json=body, headers=headers)

    assert _errors(response) == [("expires_at", "date.out_of_range")]
    assert response.get_json()["errors"][0]["message"] == "日期须在2000年至2099年之间"
    assert api.count(tables.vouchers) == 0


def test_a_statement_month_or_a_till_day_beyond_the_years_is_refused_not_a_500(api):
    shop = api.shop()
    today = (datetime.now(UTC) + timedelta(hours=8)).date().isoformat()

    statement = api.send(
        "GET", f"/api/v1/merchants/{shop.merchant_id}/statement?month=9999-12", headers=api.admin
    )
    summary = api.send("GET", "/api/v1/merchants/summary?month=9999-12", headers=api.admin)
    day = api.send("GET", f"/api/v1/redemptions?store_id={shop.store_id}&day=9999-12-31", headers=shop.till)
    this_day = api.send("GET", f"/api/v1/redemptions?store_id={shop.store_id}&day={today}", headers=shop.till)

    assert _errors(statement) == [("month", "month.invalid")]
    assert _errors(summary) == [("month", "month.invalid")]
    assert _errors(day) == [("day", "date.out_of_range")]
    assert this_day.status_code == 200
