"""What PostgreSQL does unlike SQLite, where the API tests and the first fuzz run build each service:
each of these answered wrongly on PostgreSQL alone, and passed on SQLite.

- Text cannot hold U+0000: a statement sent with one fails (a 500). SQLite stores it. Now a path
  naming one is 404 (services/common/web.py) and a field holding one 422 (schemas/http.py Strict).
- An INSERT's rowcount is -1 (SQLAlchemy adds RETURNING, psycopg reports none). SQLite's is the
  rows inserted. A shift's thank-you voucher was made but never announced, and every scan of a
  station in a day was answered as a counted visit. Both now ask sql.add_unless_there.
"""

from __future__ import annotations

import pytest

from schemas.events import benefits
from services.common.clock import now
from services.merchants import service, tables
from tests.api.merchants.conftest import enrolment_fake, fake, make_settings, mint  # noqa: F401 (fixtures)
from tests.api.stations.conftest import enrolment_url, join, token_mint  # noqa: F401 (fixtures)
from tests.integration.test_merchants_round_trips import api  # noqa: F401 (merchants on PostgreSQL)
from tests.integration.test_stations_postgres import app, rig  # noqa: F401 (stations on PostgreSQL)
from tests.support import REDIS_URL, build_app, dispose_app, fresh_postgres_database, service_settings

pytestmark = pytest.mark.integration  # tests/conftest.py skips (or fails) when PostgreSQL is absent


@pytest.mark.parametrize(
    ("name", "path"),
    [("stations", "/api/v1/stations/%00abc"), ("enrolment", "/api/v1/join/%00abc")],
    ids=["a station's page", "the scan page"],
)
def test_a_public_path_naming_nul_is_not_found(name, path, tmp_path):
    with fresh_postgres_database(f"pg_{name}") as url:
        app = build_app(name, service_settings(name, tmp_path, redis_url=REDIS_URL, database_url=url))
        try:
            answer = app.test_client().get(path)
        finally:
            dispose_app(app)

    assert (answer.status_code, answer.get_json()["code"]) == (404, "not_found")


def test_a_query_or_a_body_field_holding_nul_is_refused_by_name_and_changes_nothing(api):  # noqa: F811
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


def test_a_shifts_thank_you_voucher_is_made_and_announced_once(api):  # noqa: F811
    db = api.app.extensions["unionhub"].db
    granted = []
    for _ in range(2):  # the second as a replay of the shift under a new event id
        with db.unit_of_work() as uow:
            granted.append(
                service.thank_for_shift(
                    uow, shift_id="shift-1", member_id="m-1", value_fen=500, days=30, completed_at=now()
                )
            )
            uow.commit()

    assert granted == [True, False]
    assert api.count(tables.vouchers) == 1
    assert api.outbox_types().count(benefits.VOUCHER_GRANTED) == 1


def test_a_couriers_second_scan_of_a_station_in_a_day_is_not_counted(app, rig, token_mint):  # noqa: F811
    station_id = rig.station()  # stations' app on PostgreSQL (test_stations_postgres.py's fixtures)
    join(app, "m-2")

    counted = [
        rig.api.post(
            "/api/v1/stations/visits",
            {"station_code": rig.code(station_id)},
            headers=token_mint.member("m-2"),
            expect=201,
        )["counted"]
        for _ in range(2)
    ]

    assert counted == [True, False]
