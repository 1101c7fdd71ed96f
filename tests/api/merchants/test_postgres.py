"""Tests of the SQLite modules run again on PostgreSQL, in a database of its own for this module:
there a sale's budgets are spent, and their exhaustion written, in SQL (repository/budgets.py), twin
requests truly race for one row's key, and a value longer than its column fails the statement.

Imported, each test is collected here as well and takes this module's ``app``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData

from tests.api.merchants.test_body_checks import (  # noqa: F401 (collected here again)
    test_a_change_of_hours_not_hh_mm_is_refused_and_the_store_kept,
    test_a_store_whose_hours_are_not_hh_mm_is_refused,
)
from tests.api.merchants.test_onboarding import (  # noqa: F401 (collected here again)
    test_twin_requests_for_a_till_login_are_both_answered_the_login_its_stores_recorded_once,
)
from tests.api.merchants.test_redemptions import (  # noqa: F401 (collected here again)
    test_an_exhausted_budget_is_announced_as_the_offers_or_the_merchants_keyed_by_the_merchant,
)
from tests.support import build_app, dispose_app, fresh_postgres_database


@pytest.fixture(scope="module")
def pg_url():
    with fresh_postgres_database("merchants_test") as url:
        yield url


@pytest.fixture
def app(make_settings, clean_redis, pg_url):
    """Overrides the SQLite app of conftest.py; every test starts from a schema made anew."""
    app = build_app("merchants", make_settings(database_url=pg_url))
    yield app
    engine = app.extensions["unionhub"].db.engine
    dispose_app(app)
    # Every table the database holds, the migrations' version table too, or the next test's upgrade
    # would believe the schema in place.
    present = MetaData()
    present.reflect(engine)
    present.drop_all(engine)
