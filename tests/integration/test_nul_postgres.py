"""U+0000 in what a client sends, on PostgreSQL, whose text cannot hold it: a statement sent with one
fails. SQLite's text can, so the API tests and the fuzz run on SQLite never saw the 500s it made
(a station's page and the scan page by path, the till's day by query). Now a path naming one is
404 (services/common/web.py) and a field holding one 422 (schemas/http.py Strict), before any
statement."""

from __future__ import annotations

import pytest

from services.merchants import tables
from tests.api.merchants.conftest import (  # noqa: F401 (fixtures)
    MerchantsApi,
    enrolment_fake,
    fake,
    make_settings,
    mint,
)
from tests.support import REDIS_URL, build_app, dispose_app, fresh_postgres_database, service_settings

pytestmark = pytest.mark.integration  # tests/conftest.py skips (or fails) when PostgreSQL is absent


@pytest.mark.parametrize(
    ("service", "path"),
    [("stations", "/api/v1/stations/%00abc"), ("enrolment", "/api/v1/join/%00abc")],
    ids=["a station's page", "the scan page"],
)
def test_a_public_path_naming_nul_is_not_found(service, path, tmp_path):
    with fresh_postgres_database(f"nul_{service}") as url:
        app = build_app(service, service_settings(service, tmp_path, redis_url=REDIS_URL, database_url=url))
        try:
            answer = app.test_client().get(path)
        finally:
            dispose_app(app)

    assert (answer.status_code, answer.get_json()["code"]) == (404, "not_found")


@pytest.fixture
def api(make_settings, mint, fake, clean_redis):  # noqa: F811
    with fresh_postgres_database("nul_merchants") as url:
        app = build_app("merchants", make_settings(database_url=url))
        yield MerchantsApi(app.test_client(), app, mint, fake)
        dispose_app(app)


def test_a_query_or_a_body_field_holding_nul_is_refused_by_name_and_changes_nothing(api):
    shop = api.shop()

    day = api.send("GET", "/api/v1/redemptions?day=2026-11-30&store_id=%00", headers=shop.till)
    merchant = api.send(
        "POST",
        "/api/v1/merchants",
        json={"name": "合力\x00超市", "category": "supermarket", "branch_id": "branch-a"},
        headers=api.admin,
    )

    for answer, field in ((day, "store_id"), (merchant, "name")):
        assert answer.status_code == 422, answer.get_data(as_text=True)
        assert answer.get_json()["errors"] == [
            {"field": field, "code": "nul_character", "message": "此项含有不允许的字符"}
        ]
    assert api.count(tables.merchants) == 1  # the shop's
