"""Admins onboard merchants, stores, till logins and offers; members find offers near them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy.exc import OperationalError

from services.merchants import repository, tables
from tests.api.merchants.conftest import BRANCH_A, BRANCH_B, CITY, GUIYANG, window


def test_an_admin_signs_up_a_merchant_only_for_a_branch_in_their_subtree(api):
    ok = api.send(
        "POST",
        "/api/v1/merchants",
        json={"name": "书店", "category": "library", "branch_id": BRANCH_A},
        headers=api.mint.admin(BRANCH_A),
    )
    refused = api.send(
        "POST",
        "/api/v1/merchants",
        json={"name": "书店", "category": "library", "branch_id": CITY},
        headers=api.mint.admin(BRANCH_A),
    )

    assert ok.status_code == 201
    assert refused.status_code == 404
    assert api.count(tables.merchants) == 1


def test_a_merchant_outside_the_admins_subtree_reads_as_absent(api):
    merchant_id = api.merchant(BRANCH_A)

    response = api.send(
        "POST",
        f"/api/v1/merchants/{merchant_id}/stores",
        json={"name": "x", "lat": 1, "lng": 1},
        headers=api.mint.admin(BRANCH_B),
    )

    assert response.status_code == 404
    assert api.count(tables.stores) == 0


def test_till_staff_are_created_by_enrolment_with_the_admins_own_token(api):
    merchant_id = api.merchant()
    stores = [api.store(merchant_id) for _ in range(3)]

    body = api.created(
        f"/api/v1/merchants/{merchant_id}/staff",
        {"username": "till-zhang", "password": "till-password-1", "store_ids": stores[:2]},
    )

    staff_id, sent, authorization = api.fake.staff["till-zhang"]
    assert body["id"] == staff_id
    assert sent["roles"] == ["till"] and sent["unit_id"] == BRANCH_A
    assert authorization == api.admin["Authorization"]
    assert api.count(tables.till_staff, tables.till_staff.c.staff_id == staff_id) == 2


def test_a_till_login_whose_stores_failed_to_record_is_the_same_login_when_the_admin_retries(
    api, monkeypatch
):
    merchant_id = api.merchant()
    store = api.store(merchant_id)
    body = {"username": "till-wang", "password": "till-password-1", "store_ids": [store]}

    def database_gone(*_args, **_kwargs):
        raise OperationalError("INSERT INTO till_staff", {}, Exception("connection lost"))

    with monkeypatch.context() as patched:
        patched.setattr(repository, "add_till_staff", database_gone)
        failed = api.send("POST", f"/api/v1/merchants/{merchant_id}/staff", json=body, headers=api.admin)
    assert failed.status_code == 503  # enrolment made the login; merchants recorded nothing

    retried = api.created(f"/api/v1/merchants/{merchant_id}/staff", body)

    (made,) = api.fake.staff.values()
    assert retried["id"] == made[0]  # not 409 staff.username_taken
    assert api.count(tables.till_staff, tables.till_staff.c.staff_id == made[0]) == 1


def test_twin_requests_for_a_till_login_are_both_answered_the_login_its_stores_recorded_once(
    api, monkeypatch
):
    merchant_id = api.merchant()
    stores = [api.store(merchant_id) for _ in range(2)]
    body = {"username": "till-zhao", "password": "till-password-1", "store_ids": stores}
    logins = api.app.extensions["merchants"].logins
    ask_enrolment = logins.create_till
    both_checked = threading.Barrier(2, timeout=10)

    def create_till(*args, **kwargs):
        both_checked.wait()  # a double-click: each passed the checks before either recorded a store
        return ask_enrolment(*args, **kwargs)

    monkeypatch.setattr(logins, "create_till", create_till)

    def post(_):
        client = api.app.test_client()
        return client.post(f"/api/v1/merchants/{merchant_id}/staff", json=body, headers=api.admin)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(post, range(2))

    (made,) = api.fake.staff.values()
    assert (first.status_code, second.status_code) == (201, 201), second.get_data(as_text=True)
    assert first.get_json() == second.get_json()
    assert first.get_json()["id"] == made[0]
    assert api.count(tables.till_staff) == 2


def test_till_staff_for_a_store_of_another_merchant_are_refused_before_enrolment_is_asked(api):
    merchant_id, other = api.merchant(), api.merchant()
    foreign = api.store(other)

    response = api.send(
        "POST",
        f"/api/v1/merchants/{merchant_id}/staff",
        json={"username": "till-li", "password": "till-password-1", "store_ids": [foreign]},
        headers=api.admin,
    )

    assert response.status_code == 422
    assert response.get_json()["code"] == "store.not_of_merchant"
    assert api.fake.staff == {}


def test_a_taken_username_is_a_conflict(api):
    merchant_id = api.merchant()
    store_id = api.store(merchant_id)
    body = {"username": "till-wang", "password": "till-password-1", "store_ids": [store_id]}
    api.created(f"/api/v1/merchants/{merchant_id}/staff", body)

    again = api.send("POST", f"/api/v1/merchants/{merchant_id}/staff", json=body, headers=api.admin)

    assert again.status_code == 409


def test_an_offer_needs_the_fields_of_its_kind(api):
    merchant_id = api.merchant()

    response = api.send(
        "POST",
        "/api/v1/offers",
        json={"merchant_id": merchant_id, "title": "满减", "kind": "threshold", **window()},
        headers=api.admin,
    )

    assert response.status_code == 422
    assert response.get_json()["code"] == "offer.kind_fields"


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        (
            {"steps": [[10000, 1000], [20000, 500]]},
            "offer.steps_not_increasing",
            "steps",
        ),  # less off higher up
        (
            {"steps": [[10000, 1000], [10000, 1500]]},
            "offer.steps_not_increasing",
            "steps",
        ),  # one threshold twice
        ({"hours_from": "10:00", "hours_to": "10:00"}, "hours.empty", "hours_to"),
        ({"benefit_weeks": [["2026-12-07", "2026-12-01"]]}, "offer.benefit_week_reversed", "benefit_weeks"),
    ],
    ids=["steps-taking-less", "steps-repeating", "hours-empty", "benefit-week-reversed"],
)
def test_an_offer_that_could_never_apply_as_written_is_refused(api, fields, code, field):
    body = {"merchant_id": api.merchant(), "title": "满减", "kind": "threshold", "steps": [[10000, 1000]]}

    response = api.send("POST", "/api/v1/offers", json={**body, **window(), **fields}, headers=api.admin)

    assert response.status_code == 422
    assert (response.get_json()["code"], response.get_json()["errors"][0]["field"]) == (code, field)
    assert api.count(tables.offers) == 0


def test_a_store_open_from_a_time_to_the_same_time_is_refused(api):
    merchant_id = api.merchant()
    body = {"name": "门店", "address": "观山湖区", "lat": GUIYANG[0], "lng": GUIYANG[1]}

    response = api.send(
        "POST",
        f"/api/v1/merchants/{merchant_id}/stores",
        json={**body, "opens_at": "09:00", "closes_at": "09:00"},
        headers=api.admin,
    )

    assert (response.status_code, response.get_json()["code"]) == (422, "hours.empty")
    assert api.count(tables.stores) == 0


def test_a_sales_fen_beyond_its_column_is_refused_by_field_and_a_budget_may_pass_it(api):
    merchant_id = api.merchant()
    body = {"merchant_id": merchant_id, "title": "立减", "kind": "fixed", **window()}

    too_much = api.send("POST", "/api/v1/offers", json={**body, "fixed_fen": 2**31}, headers=api.admin)
    offer_id = api.offer(merchant_id, "fixed", budget_kind="money", budget_total=5_000_000_000)  # ¥50M

    assert too_much.status_code == 422
    assert [e["field"] for e in too_much.get_json()["errors"]] == ["fixed_fen"]
    assert api.count(tables.offers) == 1
    assert api.row(tables.offers, offer_id).budget_remaining == 5_000_000_000


def test_offers_near_a_member_come_nearest_first_and_skip_closed_stores(api):
    near, far, closed = api.merchant(), api.merchant(), api.merchant()
    api.store(far, GUIYANG[0] + 0.02, GUIYANG[1])  # about 2.2 km north
    api.store(near, GUIYANG[0] + 0.001, GUIYANG[1])  # about 110 m
    api.store(closed, GUIYANG[0], GUIYANG[1], open=False)
    api.store(api.merchant(), GUIYANG[0] + 1, GUIYANG[1])  # 110 km away
    far_offer, near_offer = api.offer(far), api.offer(near)
    api.offer(closed)
    member = api.mint.member(api.member())

    body = api.send("GET", f"/api/v1/offers?lat={GUIYANG[0]}&lng={GUIYANG[1]}", headers=member).get_json()

    assert [o["id"] for o in body] == [near_offer, far_offer]
    assert 100 <= body[0]["distance_m"] <= 120
    assert 2000 <= body[1]["distance_m"] <= 2400


def test_offers_near_a_member_leave_out_those_whose_budget_or_merchants_budget_is_spent(api):
    spent_offer, spent_merchant = api.merchant(), api.merchant(budget_kind="money", budget_total=500)
    live = api.merchant()
    stores = {m: api.store(m, GUIYANG[0] + 0.001, GUIYANG[1]) for m in (spent_offer, spent_merchant, live)}
    sold_out = api.offer(spent_offer, "fixed", fixed_fen=500, budget_kind="money", budget_total=500)
    api.offer(spent_merchant, "fixed", fixed_fen=500)
    live_offer = api.offer(live, "fixed", fixed_fen=500, budget_kind="money", budget_total=1000)
    member = api.mint.member(api.member())
    near = f"/api/v1/offers?lat={GUIYANG[0]}&lng={GUIYANG[1]}"
    listed_before = {o["id"] for o in api.send("GET", near, headers=member).get_json()}
    for merchant_id in (spent_offer, spent_merchant):  # one sale of ¥5 off spends each budget to nothing
        sale = {
            "card_token": api.fake.card_code(api.member()),
            "store_id": stores[merchant_id],
            "amount_fen": 5000,
        }
        assert api.redeem(api.till(merchant_id, stores[merchant_id]), sale).status_code == 201

    listed = [o["id"] for o in api.send("GET", near, headers=member).get_json()]

    assert sold_out in listed_before and len(listed_before) == 3
    assert listed == [live_offer]


def test_a_store_outside_its_opening_hours_does_not_list_its_offers(api):
    merchant_id = api.merchant()
    store_id = api.store(merchant_id)
    api.offer(merchant_id)
    # Hours that exclude now, whatever the time: a one-minute window twelve hours away.
    from datetime import datetime, timedelta

    from services.common.clock import SHANGHAI

    later = datetime.now(SHANGHAI) + timedelta(hours=12)
    change = {
        "opens_at": later.strftime("%H:%M"),
        "closes_at": (later + timedelta(minutes=1)).strftime("%H:%M"),
    }
    assert (
        api.send(
            "PATCH", f"/api/v1/merchants/{merchant_id}/stores/{store_id}", json=change, headers=api.admin
        ).status_code
        == 200
    )

    body = api.send(
        "GET", f"/api/v1/offers?lat={GUIYANG[0]}&lng={GUIYANG[1]}", headers=api.mint.member(api.member())
    ).get_json()

    assert body == []


def test_an_empty_patch_of_a_store_changes_nothing_and_answers_the_store(api):
    merchant_id = api.merchant()
    store_id = api.store(merchant_id, opens_at="08:00", closes_at="22:00")
    path = f"/api/v1/merchants/{merchant_id}/stores/{store_id}"

    patched = api.send("PATCH", path, json={}, headers=api.admin)

    assert patched.status_code == 200
    assert (patched.get_json()["id"], patched.get_json()["opens_at"]) == (store_id, "08:00")
    assert api.row(tables.stores, store_id).closes_at == "22:00"
