"""Values a body may not carry into merchants' rows, refused by field before anything is written:
a time or a name with a newline after it, a time in other digits than 0-9 (which a sale or a
search would fail to read back), and money, percents and counts that are not whole numbers written
as numbers (a price meant in yuan must not pass as fen, truncated)."""

from __future__ import annotations

import pytest

from services.merchants import tables
from tests.api.merchants.conftest import BRANCH_A, GUIYANG, window

STORE = {"name": "合力超市中华路店", "lat": GUIYANG[0], "lng": GUIYANG[1]}
# Each passed a pattern of "^...$" and "\d" under re.match: "$" matches before a final newline,
# and "\d" any script's digit (here ARABIC-INDIC DIGIT NINE), which time.fromisoformat refuses.
NOT_HH_MM = pytest.mark.parametrize("hours", ["09:00\n", "0\u0669:00"], ids=["newline-after", "arabic-digit"])


def refused_fields(response) -> list[str]:
    assert response.status_code == 422, response.get_data(as_text=True)
    return [error["field"] for error in response.get_json()["errors"]]


@NOT_HH_MM
def test_a_store_whose_hours_are_not_hh_mm_is_refused(api, hours):
    merchant_id = api.merchant()
    body = {**STORE, "opens_at": hours, "closes_at": "18:00"}

    response = api.send("POST", f"/api/v1/merchants/{merchant_id}/stores", json=body, headers=api.admin)

    assert refused_fields(response) == ["opens_at"]
    assert api.count(tables.stores) == 0


@NOT_HH_MM
def test_a_change_of_hours_not_hh_mm_is_refused_and_the_store_kept(api, hours):
    merchant_id = api.merchant()
    store_id = api.store(merchant_id, opens_at="08:00", closes_at="22:00")
    path = f"/api/v1/merchants/{merchant_id}/stores/{store_id}"

    response = api.send("PATCH", path, json={"closes_at": hours}, headers=api.admin)

    assert refused_fields(response) == ["closes_at"]
    assert api.row(tables.stores, store_id).closes_at == "22:00"


@NOT_HH_MM
def test_an_offer_whose_hours_are_not_hh_mm_is_refused(api, hours):
    body = {"merchant_id": api.merchant(), "title": "早市九折", "kind": "percent", "percent_off": 10}

    response = api.send(
        "POST", "/api/v1/offers", json={**body, **window(), "hours_from": hours}, headers=api.admin
    )

    assert refused_fields(response) == ["hours_from"]
    assert api.count(tables.offers) == 0


def test_a_till_username_ending_in_a_newline_is_refused_before_enrolment_is_asked(api):
    merchant_id = api.merchant()
    body = {"username": "till-wang\n", "password": "till-password-1", "store_ids": [api.store(merchant_id)]}

    response = api.send("POST", f"/api/v1/merchants/{merchant_id}/staff", json=body, headers=api.admin)

    assert refused_fields(response) == ["username"]
    assert api.fake.staff == {}
    assert api.count(tables.till_staff) == 0


@pytest.mark.parametrize(
    ("fields", "fields_refused"),
    [
        ({"kind": "fixed", "fixed_fen": 1999.99}, ["fixed_fen"]),
        ({"kind": "fixed", "fixed_fen": "500"}, ["fixed_fen"]),
        ({"kind": "percent", "percent_off": 12.5}, ["percent_off"]),
        ({"kind": "percent", "percent_off": 10, "cap_fen": 1999.99}, ["cap_fen"]),
        ({"kind": "threshold", "steps": [[10000.9, "1000"]]}, ["steps.0.0", "steps.0.1"]),
        ({"kind": "fixed", "fixed_fen": 500, "member_limit": 2.5, "limit_period": "day"}, ["member_limit"]),
        ({"kind": "fixed", "fixed_fen": 500, "weekdays": [1.5]}, ["weekdays.0"]),
        (
            {"kind": "fixed", "fixed_fen": 500, "budget_kind": "money", "budget_total": "500"},
            ["budget_total"],
        ),
    ],
    ids=[
        "yuan-as-fen",
        "fen-as-text",
        "fractional-percent",
        "yuan-cap",
        "steps-yuan-and-text",
        "fractional-limit",
        "fractional-weekday",
        "budget-as-text",
    ],
)
def test_an_offer_whose_money_percent_or_count_is_not_a_whole_number_is_refused(api, fields, fields_refused):
    body = {"merchant_id": api.merchant(), "title": "会员立减", **window(), **fields}

    response = api.send("POST", "/api/v1/offers", json=body, headers=api.admin)

    assert refused_fields(response) == fields_refused
    assert api.count(tables.offers) == 0


@pytest.mark.parametrize(
    ("fields", "fields_refused"),
    [
        ({"budget_kind": "money", "budget_total": 1999.99}, ["budget_total"]),
        ({"budget_kind": "money", "budget_total": "500"}, ["budget_total"]),
        ({"union_share_percent": 12.5}, ["union_share_percent"]),
    ],
    ids=["yuan-budget", "budget-as-text", "fractional-share"],
)
def test_a_merchant_whose_budget_or_share_is_not_a_whole_number_is_refused(api, fields, fields_refused):
    body = {"name": "合力超市", "category": "supermarket", "branch_id": BRANCH_A, **fields}

    response = api.send("POST", "/api/v1/merchants", json=body, headers=api.admin)

    assert refused_fields(response) == fields_refused
    assert api.count(tables.merchants) == 0
