"""The same enrolment app on PostgreSQL, in a database of its own created for this module.

What SQLite cannot prove: the partial unique indexes ("one current membership per person") hold
when two joins race, UPDATE ... RETURNING hands out card serials, and SELECT ... FOR UPDATE makes
concurrent status changes of one member, or erasures of one person, queue, so exactly one of them
applies and emits.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import MetaData, inspect, text

from schemas.events import members as member_events
from services.common import kit, migrations
from services.enrolment import tables as et
from services.enrolment.card_number import is_valid_card_number
from tests.api.enrolment.conftest import outbox_types
from tests.support import dispose_app, fresh_postgres_database, resident_id, round_trips


@pytest.fixture(scope="module")
def pg_url():
    with fresh_postgres_database("enrolment_test") as url:
        yield url


@pytest.fixture
def app(make_app, pg_url):
    """Overrides the SQLite app of conftest.py; every test starts from a schema made anew."""
    app = make_app(database_url=pg_url)
    yield app
    engine = app.extensions["unionhub"].db.engine
    engine.dispose()
    # Every table the database holds, not only the service's metadata: migrations keep a version table
    # of their own, which would leave the next test's upgrade believing the schema is in place.
    present = MetaData()
    present.reflect(engine)
    present.drop_all(engine)


def _parallel(n: int, fn):
    """Run fn(i) for i in range(n) at once, released together by a barrier."""
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait(timeout=10)
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_the_database_is_postgresql_with_partial_unique_indexes(api):
    engine = api.app.extensions["unionhub"].db.engine
    assert engine.dialect.name == "postgresql"
    indexes = {i["name"]: i for i in inspect(engine).get_indexes("members")}
    for name in ("uq_members_current_person", "uq_members_current_openid"):
        assert indexes[name]["unique"]
        where = indexes[name]["dialect_options"]["postgresql_where"]
        assert "pending" in where and "active" in where and "suspended" in where


def test_join_duplicate_join_and_every_status_change_on_postgresql(api, tree):
    worker = api.member(tree.campaign_a1["code"])
    assert is_valid_card_number(worker.card_no)
    second = api.member(tree.campaign_a1["code"])
    assert int(second.card_no[4:14]) == int(worker.card_no[4:14]) + 1  # UPDATE ... RETURNING

    before = api.snapshot()
    same_id, _ = api.join(tree.campaign_b1["code"], id_number=worker.body["id_number"])
    same_wechat, _ = api.join(tree.campaign_b1["code"], worker=worker, id_number=resident_id())
    assert same_id.status_code == 409 and "branch" not in same_id.get_json()  # another person: a dispute
    assert same_wechat.status_code == 409
    assert same_wechat.get_json()["branch"] == "贵阳市顺丰分会"  # the same person: their own branch
    assert api.snapshot() == {**before, "disputes": before["disputes"] + 1}

    admin = tree.city_a_admin
    for action, body, status in [
        ("suspend", {"reason": "x"}, "suspended"),
        ("reinstate", {}, "active"),
        ("transfer", {"branch_id": tree.a2["id"]}, "active"),
        ("leave", {}, "left"),
    ]:
        response = api.client.post(f"/api/v1/members/{worker.member_id}/{action}", json=body, headers=admin)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == status
    pending = api.member(tree.campaign_a2["code"])
    approved = api.client.post(f"/api/v1/members/{pending.member_id}/approve", json={}, headers=admin)
    assert approved.get_json()["status"] == "active"

    mine = [r for r in api.outbox() if r.key == worker.member_id]
    assert outbox_types(mine) == [
        member_events.JOINED,
        member_events.SUSPENDED,
        member_events.REINSTATED,
        member_events.TRANSFERRED,
        member_events.LEFT,
    ]
    # Having left, the person may join again: the unique index only covers current memberships.
    again, _ = api.join(tree.campaign_b1["code"], id_number=worker.body["id_number"])
    assert again.status_code == 201


def test_two_racing_joins_of_one_id_number_make_one_member_and_a_409_naming_no_branch(api, tree):
    number = resident_id()
    workers = [api.wechat() for _ in range(2)]
    bodies = [api.join_body(tree.campaign_a1["code"], w, id_number=number) for w in workers]

    def join(i):
        client = api.app.test_client()
        return client.post("/api/v1/join", json=bodies[i], headers=workers[i].headers)

    responses = _parallel(2, join)

    assert sorted(r.status_code for r in responses) == [201, 409]
    conflict = next(r for r in responses if r.status_code == 409).get_json()
    assert conflict["code"] == "member.identity_disputed" and "branch" not in conflict
    assert api.count(et.members) == 1 and api.count(et.disputes) == 1
    assert outbox_types(api.outbox()) == [member_events.JOINED]


def test_many_first_joins_of_a_new_campaign_at_once_all_succeed(api, tree):
    # The first join of a campaign on a day creates its counter row, and the first join ever creates
    # the card serial row: racing first joins must queue on those rows, not fail.
    campaign = api.campaign(tree.fed_admin, tree.b1["id"], name="开业首日")
    workers = [api.wechat() for _ in range(8)]
    bodies = [api.join_body(campaign["code"], w) for w in workers]

    def join(i):
        client = api.app.test_client()
        return client.post("/api/v1/join", json=bodies[i], headers=workers[i].headers)

    responses = _parallel(8, join)

    assert [r.status_code for r in responses] == [201] * 8, [r.get_json() for r in responses]
    cards = {r.get_json()["card_no"] for r in responses}
    assert len(cards) == 8 and all(is_valid_card_number(c) for c in cards)
    stats = api.client.get(f"/api/v1/campaigns/{campaign['id']}/stats", headers=tree.fed_admin).get_json()
    assert stats["joins"] == 8


def test_concurrent_status_changes_of_one_member_apply_once(api, tree):
    worker = api.member(tree.campaign_a1["code"])
    seen = len(api.outbox())

    def suspend(_):
        client = api.app.test_client()
        return client.post(
            f"/api/v1/members/{worker.member_id}/suspend", json={"reason": "并发"}, headers=tree.fed_admin
        )

    responses = _parallel(6, suspend)

    assert sorted(r.status_code for r in responses) == [200] + [409] * 5
    events = api.outbox()[seen:]
    assert outbox_types(events) == [member_events.SUSPENDED]
    assert json.loads(events[0].payload)["member_id"] == worker.member_id


def test_concurrent_erasure_requests_wipe_each_membership_of_the_person_once(api, tree):
    first = api.member(tree.campaign_a1["code"])
    api.post(f"/api/v1/members/{first.member_id}/leave", {}, headers=tree.fed_admin, expect=200)
    returning = api.wechat(first.code)
    rejoined = api.member(tree.campaign_b1["code"], worker=returning, id_number=first.body["id_number"])
    seen = len(api.outbox())

    def erase(_):
        return api.app.test_client().post("/api/v1/members/me/erasure", headers=rejoined.headers)

    responses = _parallel(4, erase)

    # The others queue behind the first's row locks and then find nothing left to erase.
    assert sorted(r.status_code for r in responses) == [204] + [409] * 3
    events = api.outbox()[seen:]
    assert outbox_types(events) == [member_events.LEFT] * 2
    assert sorted(e.key for e in events) == sorted([first.member_id, rejoined.member_id])
    assert api.count(et.audit_log) == 2


def test_idempotent_retries_racing_each_other_create_one_member(api, tree):
    worker = api.wechat()
    body = api.join_body(tree.campaign_a1["code"], worker)  # one SMS code: a retry may present it again
    headers = {**worker.headers, "Idempotency-Key": "tap-tap-tap"}

    def join(_):
        return api.app.test_client().post("/api/v1/join", json=body, headers=headers)

    responses = _parallel(4, join)

    assert {r.status_code for r in responses} == {201}
    assert len({r.get_json()["member_id"] for r in responses}) == 1
    assert api.count(et.members) == 1 and len(api.outbox()) == 1


def test_web_workers_starting_together_on_a_fresh_database_all_boot_with_one_root_and_one_admin(
    make_settings,
):
    # gunicorn starts its workers at once, after `unionhub db upgrade` made the schema, each running
    # create_app: local keys, federation root and bootstrap admin must be created once, the other
    # workers waiting and then finding them.
    with fresh_postgres_database("enrolment_test") as url:
        settings = make_settings(database_url=url)
        migrations.upgrade("enrolment", settings)
        apps = _parallel(4, lambda _: kit.create_app("enrolment", {"SETTINGS": settings}))
        try:
            engine = apps[0].extensions["unionhub"].db.engine
            with engine.connect() as conn:
                roots = conn.execute(text("SELECT count(*) FROM units WHERE parent_id IS NULL")).scalar_one()
                admins = conn.execute(
                    text("SELECT count(*) FROM staff WHERE username = 'admin'")
                ).scalar_one()
            assert (roots, admins) == (1, 1)
            kids = {app.extensions["enrolment"].secrets.signing_keys[0].kid for app in apps}
            assert len(kids) == 1  # one key set, or workers would reject each other's tokens
        finally:
            for app in apps:
                dispose_app(app)


def test_a_join_sends_its_writes_together(api, tree, tmp_path):
    api.member(tree.campaign_a1["code"])  # the app's first: pools filled, statements prepared
    engine = api.app.extensions["unionhub"].db.engine
    with round_trips(engine, tmp_path) as trips:
        api.member(tree.campaign_a1["code"])
    # The WeChat login's look-up of the caller's membership; the join's reads without a
    # transaction: the campaign, the caller's own membership; then BEGIN with the campaign, the
    # person's memberships, the card serial, the member row with its event and the day's count
    # together, COMMIT. (With the writes one by one and BEGIN on its own: 11.)
    assert trips.count == 3 + 5
