"""Stations' "one open shift per volunteer" and "one item per locker" on PostgreSQL over real HTTP:
fifty requests released at once by a barrier, and the database's partial unique indexes (not only
the checks before them) decide who wins. The API tier runs the same rules on SQLite, whose single
writer never lets two such transactions overlap."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from schemas.events import members
from schemas.events import stations as ev
from services.common.idempotency import IdempotentRequest
from services.stations import repository, tables
from tests.api.stations.conftest import (  # noqa: F401 (fixtures)
    Rig,
    enrolment_url,
    join,
    outbox,
    this_monday,
    token_mint,
)
from tests.support import (
    Api,
    build_app,
    deliver,
    dispose_app,
    fresh_postgres_database,
    http_server,
    member_event,
    service_settings,
)

pytestmark = pytest.mark.integration  # tests/conftest.py skips (or fails) when PostgreSQL is absent

CLIENTS = 50


@pytest.fixture
def app(tmp_path, token_mint, enrolment_url, clean_redis):  # noqa: F811 (the fixtures imported above)
    with fresh_postgres_database("stations_test") as url:
        settings = service_settings(
            "stations", tmp_path, database_url=url, enrolment_url=enrolment_url, **token_mint.settings
        )
        application = build_app("stations", settings)
        yield application
        dispose_app(application)


@pytest.fixture
def rig(app, token_mint):  # noqa: F811
    return Rig(app, Api(app.test_client()), token_mint)


def _burst(app, path: str, calls: list[tuple[dict, dict]]) -> list[requests.Response]:
    """POST ``path`` once per (headers, body), each from its own thread and connection, all released
    together by a barrier; the replies in the order of ``calls``."""
    start = threading.Barrier(len(calls))
    replies: list[requests.Response | None] = [None] * len(calls)

    with http_server(app, "stations-burst") as base_url:

        def send(i: int, headers: dict, body: dict) -> None:
            with requests.Session() as session:
                start.wait()
                replies[i] = session.post(f"{base_url}{path}", json=body, headers=headers, timeout=60)

        threads = [
            threading.Thread(target=send, args=(i, headers, body)) for i, (headers, body) in enumerate(calls)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert all(r is not None for r in replies), "a client never got an answer"
    return replies  # type: ignore[return-value]


def _statuses(replies) -> Counter:
    """(status, problem code) per reply; a 201's body has no code. A 5xx shows up here too."""
    return Counter((r.status_code, r.json().get("code")) for r in replies)


def _on_duty(rig: Rig, *member_ids: str, **station) -> str:
    station_id = rig.station(**station)
    rig.assign(station_id)
    rig.group(station_id, *member_ids)
    rig.rota(station_id)
    return station_id


def _event_types(app) -> Counter:
    return Counter(row.type for row in outbox(app))


def _scalar(app, query):
    with app.extensions["unionhub"].db.engine.connect() as conn:
        return conn.execute(query).scalar()


def _occupied(app, station_id: str) -> list[int]:
    d = tables.deposits.c
    with app.extensions["unionhub"].db.engine.connect() as conn:
        query = select(d.locker_no).where(d.station_id == station_id, d.collected_at.is_(None))
        return sorted(conn.execute(query).scalars())


# --- one open shift per volunteer -----------------------------------------------------------------


def test_50_concurrent_check_ins_of_one_volunteer_open_exactly_one_shift(rig, app):
    station_id = _on_duty(rig, "m-1")
    call = (rig.mint.member("m-1"), {"station_code": rig.code(station_id)})

    replies = _burst(app, "/api/v1/shifts/checkin", [call] * CLIENTS)

    assert _statuses(replies) == {(201, None): 1, (409, "checkin.already"): CLIENTS - 1}
    (won,) = [r.json()["shift_id"] for r in replies if r.status_code == 201]
    sh = tables.shifts.c
    open_shifts = select(sh.id).where(sh.member_id == "m-1", sh.status == "open")
    with app.extensions["unionhub"].db.engine.connect() as conn:
        assert conn.execute(open_shifts).scalars().all() == [won]
    assert _event_types(app) == {ev.STATION_OPENED: 1, ev.SHIFT_STARTED: 1}
    assert rig.api.get(f"/api/v1/stations/{station_id}")["live"]["status"] == "open"


def test_50_volunteers_checking_in_at_once_each_get_a_shift_and_the_station_opens_once(rig, app):
    volunteers = [f"m-{i}" for i in range(CLIENTS)]
    station_id = _on_duty(rig, *volunteers)
    code = rig.code(station_id)

    replies = _burst(
        app, "/api/v1/shifts/checkin", [(rig.mint.member(v), {"station_code": code}) for v in volunteers]
    )

    assert _statuses(replies) == {(201, None): CLIENTS}
    sh = tables.shifts.c
    opened = select(func.count(func.distinct(sh.member_id))).where(
        sh.station_id == station_id, sh.status == "open"
    )
    assert _scalar(app, opened) == CLIENTS
    assert _event_types(app) == {ev.STATION_OPENED: 1, ev.SHIFT_STARTED: CLIENTS}


# --- one item per locker --------------------------------------------------------------------------


def _couriers(app, rig: Rig, count: int) -> list[dict]:
    ids = [f"c-{i}" for i in range(count)]
    join(app, *ids)
    return [rig.mint.member(i) for i in ids]


def test_50_couriers_depositing_into_the_same_locker_at_once_leave_one_item_in_it(rig, app):
    station_id = rig.station(lockers=4)
    couriers = _couriers(app, rig, CLIENTS)

    replies = _burst(
        app, f"/api/v1/stations/{station_id}/lockers/deposits", [(c, {"locker_no": 3}) for c in couriers]
    )

    assert _statuses(replies) == {(201, None): 1, (409, "locker.occupied"): CLIENTS - 1}
    (won,) = [r.json() for r in replies if r.status_code == 201]
    assert won["locker_no"] == 3
    assert _occupied(app, station_id) == [3]
    assert _event_types(app) == {ev.LOCKER_DEPOSITED: 1}


def test_50_couriers_taking_any_free_locker_at_once_fill_each_locker_once_and_then_hear_full(rig, app):
    lockers = 30
    station_id = rig.station(lockers=lockers)
    couriers = _couriers(app, rig, CLIENTS)

    replies = _burst(app, f"/api/v1/stations/{station_id}/lockers/deposits", [(c, {}) for c in couriers])

    assert _statuses(replies) == {(201, None): lockers, (409, "locker.full"): CLIENTS - lockers}
    given = sorted(r.json()["locker_no"] for r in replies if r.status_code == 201)
    assert given == list(range(1, lockers + 1))  # every courier told a locker of their own
    assert _occupied(app, station_id) == given
    assert _event_types(app) == {ev.LOCKER_DEPOSITED: lockers}


@pytest.mark.parametrize("body", [{}, {"locker_no": 2}], ids=["any-locker", "locker-2"])
def test_50_concurrent_retries_with_one_idempotency_key_make_one_deposit_and_share_its_answer(rig, app, body):
    station_id = rig.station(lockers=4)
    join(app, "c-1")
    headers = {**rig.mint.member("c-1"), "Idempotency-Key": "deposit-1"}

    replies = _burst(app, f"/api/v1/stations/{station_id}/lockers/deposits", [(headers, body)] * CLIENTS)

    assert _statuses(replies) == {(201, None): CLIENTS}
    answers = {tuple(sorted(r.json().items())) for r in replies}
    assert len(answers) == 1  # the same locker and pickup code for every retry
    d = tables.deposits.c
    assert _scalar(app, select(func.count()).where(d.station_id == station_id)) == 1
    assert _event_types(app) == {ev.LOCKER_DEPOSITED: 1}


def test_two_swaps_of_one_duty_accepted_at_once_hand_it_to_one_volunteer(rig, app):
    station_id = rig.station(opening_hours="Mo-Su 00:00-24:00")
    rig.assign(station_id)
    mine = rig.group(station_id, "m-1", name="一组")
    rig.group(station_id, "m-2", "m-3", name="二组")
    rig.rota(station_id, weeks=2, group_ids=[mine])
    duties = rig.api.get(
        f"/api/v1/stations/{station_id}/duties?to={this_monday() + timedelta(weeks=3)}",
        headers=rig.coordinator,
    )
    duty = [d for d in duties if d["status"] == "scheduled"][-1]
    first, second = (
        rig.api.post(
            f"/api/v1/stations/{station_id}/duties/{duty['id']}/swaps",
            {"to_member_id": taker},
            headers=rig.mint.member("m-1"),
            expect=201,
        )["id"]
        for taker in ("m-2", "m-3")
    )
    engine = app.extensions["unionhub"].db.engine
    with engine.connect() as accepting:
        # m-2's acceptance, written and not yet committed when m-3 accepts the other swap.
        repository.hand_duty(accepting, duty["id"], "m-2")
        repository.settle_swap(accepting, first, "accepted", datetime.now(UTC))
        with ThreadPoolExecutor(1) as pool:
            late = pool.submit(
                rig.api.send,
                "POST",
                f"/api/v1/stations/{station_id}/swaps/{second}/accept",
                headers=rig.mint.member("m-3"),
            )
            time.sleep(0.3)  # m-3's acceptance waits on the duty's row
            accepting.commit()
            reply = late.result(timeout=10)

    assert reply.status_code == 409  # not 204: the duty was m-2's by the time m-3 could take it
    assert reply.json()["code"] == "swap.not_pending"
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(tables.duties.c.member_id).where(tables.duties.c.id == duty["id"])
            ).scalar_one()
            == "m-2"
        )


def test_a_duty_marked_missed_while_a_check_in_marks_it_done_stays_missed_as_its_event_said(rig, app):
    station_id = _on_duty(rig, "m-1", opening_hours="Mo-Su 00:00-24:00")
    duties = rig.api.get(f"/api/v1/stations/{station_id}/duties", headers=rig.coordinator)
    duty_id = next(d["id"] for d in duties if d["status"] == "scheduled")
    engine = app.extensions["unionhub"].db.engine
    with engine.connect() as worker:
        # The worker's mark (and its shift_missed), not yet committed when a check-in marks the duty.
        repository.mark_duty(worker, duty_id, "missed")
        with ThreadPoolExecutor(1) as pool:
            check_in = pool.submit(_mark_done, engine, duty_id)
            time.sleep(0.3)  # the check-in waits on the duty's row
            worker.commit()
            check_in.result(timeout=10)

    duties = rig.api.get(f"/api/v1/stations/{station_id}/duties", headers=rig.coordinator)
    assert next(d["status"] for d in duties if d["id"] == duty_id) == "missed"


def _mark_done(engine, duty_id: str) -> None:
    with engine.begin() as conn:
        repository.mark_duty(conn, duty_id, "done", "shift-1")


def test_one_idempotency_key_sent_to_two_stations_at_once_is_told_reused_not_a_500(rig, app):
    first, second = rig.station(lockers=4), rig.station(lockers=4)
    join(app, "c-1")
    engine = app.extensions["unionhub"].db.engine
    with engine.connect() as depositing:
        # The deposit at the first station, its answer stored and not yet committed when the same
        # key reaches the second station: the two lock different stations and meet at the key.
        stations = app.extensions["stations"]
        at_first = IdempotentRequest.of(
            tables.idempotency_keys,
            "c-1:locker-deposit",
            "deposit-1",
            {"station_id": first, "locker_no": None},
            secret=stations.idempotency_secret,
        )
        at_first.remember(depositing, 201, {"id": "d-1", "station_id": first, "locker_no": 1})
        with ThreadPoolExecutor(1) as pool:
            late = pool.submit(
                rig.api.send,
                "POST",
                f"/api/v1/stations/{second}/lockers/deposits",
                json={},
                headers={**rig.mint.member("c-1"), "Idempotency-Key": "deposit-1"},
            )
            time.sleep(0.3)  # the second station's deposit waits on the key's unique index
            depositing.commit()
            reply = late.result(timeout=10)

    assert reply.status_code == 409  # not 500: the key was spent on another station's deposit
    assert reply.json()["code"] == "idempotency_key_reused"
    d = tables.deposits.c
    assert _scalar(app, select(func.count()).where(d.station_id == second)) == 0
    assert _event_types(app) == {}


def test_a_group_made_while_a_volunteers_suspension_commits_leaves_them_off_the_rota(rig, app):
    station_id = rig.station()
    rig.assign(station_id)
    join(app, "m-1", "m-2")
    engine = app.extensions["unionhub"].db.engine
    with engine.connect() as suspending:
        # The member event's transaction: m-2 suspended, not yet committed when the coordinator
        # makes a group with them.
        m = tables.members.c
        suspending.execute(tables.members.update().where(m.member_id == "m-2").values(status="suspended"))
        with ThreadPoolExecutor(1) as pool:
            late = pool.submit(
                rig.api.send,
                "POST",
                f"/api/v1/stations/{station_id}/duty-groups",
                json={"name": "二组", "member_ids": ["m-1", "m-2"]},
                headers=rig.coordinator,
            )
            time.sleep(0.3)  # the group waits on m-2's row
            suspending.commit()
            reply = late.result(timeout=10)

    assert reply.status_code == 422  # not 201: m-2 was suspended by the time the group could check
    assert reply.json()["code"] == "duty_group.member_inactive"
    assert _scalar(app, select(func.count()).select_from(tables.duty_group_members)) == 0


def test_suspensions_racing_the_same_volunteers_check_outs_end_each_shift_once(rig, app):
    volunteers = [f"m-{i}" for i in range(10)]
    station_id = _on_duty(rig, *volunteers)
    shift_of = {v: rig.checkin(station_id, v)["shift_id"] for v in volunteers}
    suspensions = {v: member_event(members.SUSPENDED, v) for v in volunteers}
    start = threading.Barrier(2 * len(volunteers))

    def suspend(v: str) -> None:
        start.wait()
        deliver(app, suspensions[v])

    def check_out(v: str) -> int:
        url = f"{base_url}/api/v1/shifts/{shift_of[v]}/checkout"
        start.wait()
        return requests.post(url, headers=rig.mint.member(v), timeout=60).status_code

    with http_server(app, "stations-burst") as base_url, ThreadPoolExecutor(2 * len(volunteers)) as pool:
        suspended = [pool.submit(suspend, v) for v in volunteers]
        checked_out = {v: pool.submit(check_out, v) for v in volunteers}
        for done in suspended:
            done.result(timeout=60)  # no deadlock: a handler that lost one would raise here
        statuses = {v: f.result(timeout=60) for v, f in checked_out.items()}

    # Each shift ended once: by its check-out (200, completed, its voucher's event) or by the
    # suspension first (409 shift.ended, stopped, none); the station closed once, by the last.
    sh = tables.shifts.c
    with app.extensions["unionhub"].db.engine.connect() as conn:
        ended = dict(conn.execute(select(sh.member_id, sh.status)).all())
    assert set(statuses.values()) <= {200, 409}
    assert {v: "completed" if s == 200 else "stopped" for v, s in statuses.items()} == ended
    completed = [json.loads(r.payload)["shift_id"] for r in outbox(app) if r.type == ev.SHIFT_COMPLETED]
    assert sorted(completed) == sorted(shift_of[v] for v, s in statuses.items() if s == 200)
    assert _event_types(app)[ev.STATION_CLOSED] == 1
    assert rig.api.get(f"/api/v1/stations/{station_id}")["live"]["status"] == "closed"


def test_a_check_in_while_the_volunteers_suspension_commits_is_refused(rig, app):
    station_id = _on_duty(rig, "m-1")
    with app.extensions["unionhub"].db.engine.connect() as suspending:
        # The member event's transaction has written the suspension, not yet committed.
        mc = tables.members.c
        suspending.execute(tables.members.update().where(mc.member_id == "m-1").values(status="suspended"))
        with ThreadPoolExecutor(1) as pool:
            late = pool.submit(
                rig.api.send,
                "POST",
                "/api/v1/shifts/checkin",
                json={"station_code": rig.code(station_id)},
                headers=rig.mint.member("m-1"),
            )
            time.sleep(0.3)  # the check-in waits on m-1's row
            suspending.commit()
            reply = late.result(timeout=10)

    assert (reply.status_code, reply.json()["code"]) == (403, "member.suspended")
    assert _scalar(app, select(func.count()).select_from(tables.shifts)) == 0


def test_an_issue_resolved_while_another_resolution_commits_is_told_so_and_writes_nothing(rig, app):
    station_id = rig.station()
    rig.assign(station_id)
    join(app, "m-1")
    body = {"category": "water", "note": "饮水机不出水"}
    issue_id = rig.api.post(
        f"/api/v1/stations/{station_id}/issues", body, headers=rig.mint.member("m-1"), expect=201
    )["id"]
    i = tables.issues.c
    with app.extensions["unionhub"].db.engine.connect() as first:
        # The admin's resolution, written and not yet committed, when the coordinator's comes.
        done = {"status": "resolved", "resolved_by": "staff:admin", "resolution": "换了滤芯"}
        done["resolved_at"] = datetime.now(UTC)
        first.execute(tables.issues.update().where(i.id == issue_id).values(**done))
        with ThreadPoolExecutor(1) as pool:
            late = pool.submit(
                rig.api.send,
                "POST",
                f"/api/v1/stations/{station_id}/issues/{issue_id}/resolve",
                json={"resolution": "重启了"},
                headers=rig.coordinator,
            )
            time.sleep(0.3)  # the second waits on the issue's row
            first.commit()
            reply = late.result(timeout=10)

    assert (reply.status_code, reply.json()["code"]) == (409, "issue.resolved")
    assert _scalar(app, select(i.resolution).where(i.id == issue_id)) == "换了滤芯"
