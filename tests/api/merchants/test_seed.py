"""``unionhub seed``'s demo merchants: made through merchants' use cases against the stand-in
enrolment, usable at the till today, and made once."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from services.merchants import queries, seed, tables
from tests.api.merchants.conftest import BRANCH_A, BRANCH_B, CITY, PATHS, ROOT

DOMAIN = json.loads(seed.DEFAULT_DOMAIN.read_text(encoding="utf-8"))
# Enrolment's units by name, as GET /api/v1/branches lists them, placed in the stand-in's tree.
BRANCHES = {
    "铜仁市总工会": {"id": CITY, "path": PATHS[CITY]},
    "松桃县总工会": {"id": BRANCH_A, "path": PATHS[BRANCH_A]},
    "遵义市总工会": {"id": BRANCH_B, "path": PATHS[BRANCH_B]},
}


@pytest.fixture
def load(app, mint):
    token = mint.issuer.issue("staff:admin", ["admin"], units=[ROOT])[0]
    ext = app.extensions["merchants"]

    def run() -> dict:
        return seed.load(app.extensions["unionhub"].db, DOMAIN, BRANCHES, token, ext.units, ext.logins)

    return run


def _by_name(api, table) -> dict:
    with api.engine().connect() as conn:
        return {r.name: r for r in conn.execute(select(table))}


def test_the_demo_merchants_are_signed_up_with_their_stores_offers_and_budgets(api, load):
    created = load()

    assert created == {"merchants": 3, "stores": 11, "offers": 3, "tills": 1}
    merchants = _by_name(api, tables.merchants)
    assert set(merchants) == {m["name"] for m in DOMAIN["merchants"]}
    huilian = merchants["华联超市"]
    assert huilian.branch_id == CITY and huilian.branch_path == PATHS[CITY]
    assert all(m.budget_kind and m.budget_remaining == m.budget_total for m in merchants.values())
    names = {m.id: name for name, m in merchants.items()}
    with api.engine().connect() as conn:
        stores = list(conn.execute(select(tables.stores).where(tables.stores.c.merchant_id == huilian.id)))
        kinds = {names[r.merchant_id]: r.kind for r in conn.execute(select(tables.offers))}
    tongren = DOMAIN["city_centres"]["铜仁"]
    assert len(stores) == 9 and len({(s.lat, s.lng) for s in stores}) == 9
    assert all(500 < queries.distance_m(s.lat, s.lng, *tongren) < 3000 for s in stores)
    assert kinds == {"华联超市": "threshold", "搊和空间": "percent", "松桃县职工服务中心养生馆": "fixed"}


def test_the_till_login_is_issued_by_enrolment_and_takes_the_benefit_week_offer_today(api, load):
    load()

    staff_id, sent, _ = api.fake.staff[seed.TILL_USERNAME]
    assert sent["roles"] == ["till"] and sent["unit_id"] == CITY
    assert api.count(tables.till_staff, tables.till_staff.c.staff_id == staff_id) == 9
    store = _by_name(api, tables.stores)["华联超市中南门店"]
    member_id = api.member()

    response = api.redeem(
        api.mint.staff(staff_id, "till"),
        {"card_token": api.fake.card_code(member_id), "store_id": store.id, "amount_fen": 21_000},
    )

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["discount_fen"] == 2_500  # 满200减25
    assert response.get_json()["subsidy_fen"] == 1_250  # the union funds half


def test_a_second_run_adds_nothing(api, load):
    load()
    counts = [api.count(t) for t in (tables.merchants, tables.stores, tables.offers, tables.till_staff)]

    assert load() == {"merchants": 0, "stores": 0, "offers": 0, "tills": 0}
    assert [
        api.count(t) for t in (tables.merchants, tables.stores, tables.offers, tables.till_staff)
    ] == counts
    assert list(api.fake.staff) == [seed.TILL_USERNAME]
