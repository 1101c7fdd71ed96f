"""What one redemption at the till costs on PostgreSQL, counted: the statements it sends (an engine
listener), the transactions it commits and its Redis round trips. The benefit-week rush is bound by
the till's CPU and round trips (docs/benchmarks.md, "Benefit-week redemptions"); these counts keep
a cut from coming back unnoticed, while the API tests keep the rules."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import event

from services.common import card_codes
from services.merchants import tables
from tests.api.merchants.conftest import (  # noqa: F401 (fixtures)
    MerchantsApi,
    enrolment_fake,
    fake,
    make_settings,
    mint,
)
from tests.support import build_app, dispose_app, fresh_postgres_database, round_trips

pytestmark = pytest.mark.integration  # tests/conftest.py skips (or fails) when PostgreSQL is absent

# The one read (stored answer, store, assignment, member, voucher, offers and uses), then the write
# transaction: the member's use, the redemption, its event, the stored answer, the offer's budget
# (spent, and should it be exhausted marked so with its event, in one statement). A write that can
# refuse the sale (the use, the stored answer) is one that fails when it writes nothing: a WITH.
REDEMPTION = ["SELECT", "WITH", "INSERT", "INSERT", "WITH", "WITH"]
# The read (no BEGIN: a read-only unit of work), then BEGIN, the sale's writes, the offer's budget
# and COMMIT, sent together.
DATABASE_ROUND_TRIPS = 2


class Counted:
    """Statements sent to the app's database, commits, and Redis round trips, from ``start()`` on."""

    def __init__(self, engine, monkeypatch):
        self.statements: list[str] = []
        self.commits = 0
        self.redis_round_trips = 0
        self.counting = False
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        send = redis.connection.Connection.send_packed_command

        def counted_send(connection, command, check_health=True):
            if self.counting:
                self.redis_round_trips += 1  # a pipeline sends its commands at once: one
            return send(connection, command, check_health)

        monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counted_send)

    def _statement(self, _conn, _cursor, statement, _params, _context, _many):
        if self.counting:
            self.statements.append(statement.split(None, 1)[0].upper())

    def _commit(self, _conn):
        if self.counting:
            self.commits += 1

    def start(self) -> Counted:
        self.statements, self.commits, self.redis_round_trips, self.counting = [], 0, 0, True
        return self


@pytest.fixture
def api(make_settings, mint, fake, clean_redis):  # noqa: F811
    with fresh_postgres_database("merchants_test") as url:
        app = build_app("merchants", make_settings(database_url=url))
        yield MerchantsApi(app.test_client(), app, mint, fake)
        dispose_app(app)


@pytest.fixture
def counted(api, monkeypatch):
    return Counted(api.engine(), monkeypatch)


def _shop(api):
    return api.shop(
        "threshold",
        steps=[[5000, 500], [10000, 1200]],
        member_limit=1,
        limit_period="day",
        budget_kind="money",
        budget_total=1_000_000,
    )


def _body(api, shop, member_id: str, **extra) -> dict:
    return {
        "card_token": api.fake.card_code(member_id),
        "store_id": shop.store_id,
        "amount_fen": 12000,
        **extra,
    }


def test_a_redemption_is_one_read_one_transaction_of_five_writes_and_one_redis_round_trip(
    api, counted, tmp_path
):
    shop = _shop(api)
    api.redeem_ok(shop, api.member(), 12000)  # the app's first: card keys fetched, pools filled
    body = _body(api, shop, api.member())

    counted.start()
    with round_trips(api.engine(), tmp_path) as trips:
        answer = api.redeem(shop.till, body, key="rush-1")

    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert counted.statements == REDEMPTION
    assert trips.count == DATABASE_ROUND_TRIPS
    assert counted.commits == 1
    assert counted.redis_round_trips == 1  # the till's rate limit and the card code's nonce, one pipeline


def test_a_retry_is_answered_from_the_one_read(api, counted):
    shop = _shop(api)
    body = _body(api, shop, api.member())
    first = api.redeem(shop.till, body, key="retry-1")

    counted.start()
    again = api.redeem(shop.till, body, key="retry-1")

    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert (counted.statements, counted.commits, counted.redis_round_trips) == (["SELECT"], 0, 1)


def test_a_voucher_adds_only_its_spending(api, counted, tmp_path):
    shop = _shop(api)
    member_id = api.member()
    voucher_id = api.voucher(member_id, 1000)
    body = _body(api, shop, member_id, voucher_id=voucher_id)

    counted.start()
    with round_trips(api.engine(), tmp_path) as trips:
        answer = api.redeem(shop.till, body, key="voucher-1")

    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["voucher_fen"] == 1000
    assert counted.statements == ["SELECT", "WITH", "WITH", "INSERT", "INSERT", "WITH", "WITH"]
    assert trips.count == DATABASE_ROUND_TRIPS  # the spending goes with the sale's other writes
    assert counted.commits == 1
    assert api.row(tables.vouchers, voucher_id).used_at is not None


def test_a_refused_sale_reads_once_and_spends_nothing(api, counted, clean_redis):
    shop = _shop(api)
    member_id = api.member()
    api.redeem_ok(shop, member_id, 12000)  # today's one use
    body = _body(api, shop, member_id)

    counted.start()
    refused = api.redeem(shop.till, body, key="limit-1")

    assert refused.get_json()["code"] == "offer.none_applies"  # their use of today is gone
    assert (counted.statements, counted.commits, counted.redis_round_trips) == (["SELECT"], 0, 1)
    assert len(clean_redis.keys(card_codes.used_key("*"))) == 1  # the first sale's code; not this one


def test_a_use_counted_by_another_till_after_the_read_refuses_the_sale_and_nothing_of_it_stays(api):
    # The sale's writes, its budget and COMMIT go in one round trip: the use count that finds the
    # member at the limit must fail in SQL, so that the COMMIT queued behind it never runs.
    shop = _shop(api)
    member_id = api.member()
    engine = api.engine()
    counted_meanwhile = []

    def count_meanwhile(_conn, _cursor, statement, parameters, *_rest):
        # After the read found the member under their limit, before this sale counts its use.
        if "offer_usage" in statement and not statement.startswith("SELECT") and not counted_meanwhile:
            counted_meanwhile.append(statement)
            with engine.begin() as other:
                other.execute(
                    tables.offer_usage.insert().values(
                        offer_id=shop.offer_id, member_id=member_id, period=parameters["period"], uses=1
                    )
                )

    event.listen(engine, "before_cursor_execute", count_meanwhile)
    try:
        refused = api.redeem(shop.till, _body(api, shop, member_id), key="late-1")
    finally:
        event.remove(engine, "before_cursor_execute", count_meanwhile)

    assert counted_meanwhile
    assert (refused.status_code, refused.get_json()["code"]) == (409, "offer.limit_reached")
    assert api.count(tables.redemptions) == 0
    assert api.row(tables.offers, shop.offer_id).budget_remaining == 1_000_000
