"""Booking opens and hundreds press "book" at once, on PostgreSQL over real HTTP: seats never pass
capacity, nobody holds two bookings for one course, and the waitlist numbers arrivals without a gap.
And what makes a booking quick there: three statements, the checks read through the member's own
bookings whatever the planner knows, and the course row taken by the last."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import event, func, select, text, update

from schemas.events import courses as ev
from services.common.idempotency import TTL, IdempotentRequest, KeyTaken
from services.courses import repository, tables
from tests.api.courses.conftest import CoursesApi, enrolment, token_mint  # noqa: F401 (fixtures)
from tests.support import (
    build_app,
    dispose_app,
    fresh_postgres_database,
    http_server,
    round_trips,
    service_settings,
)

pytestmark = pytest.mark.integration  # tests/conftest.py skips (or fails) when PostgreSQL is absent

ATTEMPTS = 500
CAPACITY = 50
CLIENTS = 100


@pytest.fixture
def api(tmp_path, token_mint, enrolment, clean_redis):  # noqa: F811 (the fixtures imported above)
    with fresh_postgres_database("courses_test") as url:
        settings = service_settings(
            "courses", tmp_path, database_url=url, **token_mint.settings, enrolment_url=enrolment.url
        )
        app = build_app("courses", settings)
        yield CoursesApi(app, app.test_client(), token_mint, enrolment)
        dispose_app(app)


@contextmanager
def statements(app):
    """The SQL statements the app's engine sends meanwhile (BEGIN and COMMIT are not statements)."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    engine = app.extensions["unionhub"].db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _burst(base_url: str, course_id: str, members: list[dict]) -> list[requests.Response]:
    start = threading.Barrier(CLIENTS)
    local = threading.local()

    def book(member: dict) -> requests.Response:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            start.wait()  # every client connected, then all at once
        return local.session.post(
            f"{base_url}/api/v1/courses/{course_id}/bookings",
            json={},
            headers={"Authorization": member["Authorization"], "Idempotency-Key": member["member_id"]},
            timeout=60,
        )

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(book, members))


def test_500_concurrent_bookings_on_a_50_seat_course_confirm_exactly_50_and_waitlist_the_rest(api):
    course_id = api.course(capacity=CAPACITY)
    members = [api.member() for _ in range(ATTEMPTS)]

    with http_server(api.app, "courses-burst") as base_url:
        replies = _burst(base_url, course_id, members)

    assert Counter(r.status_code for r in replies) == {201: ATTEMPTS}
    statuses = Counter(r.json()["status"] for r in replies)
    assert statuses == {"confirmed": CAPACITY, "waitlisted": ATTEMPTS - CAPACITY}
    with api.app.extensions["unionhub"].db.engine.connect() as conn:
        b = tables.bookings.c
        rows = conn.execute(select(b.status, b.position, b.member_id).where(b.course_id == course_id)).all()
        confirmed = conn.execute(
            select(tables.courses.c.confirmed).where(tables.courses.c.id == course_id)
        ).scalar()
    assert confirmed == CAPACITY
    assert len({r.member_id for r in rows}) == ATTEMPTS  # one booking each
    numbers = sorted(r.position for r in rows if r.status == "waitlisted")
    assert numbers == list(range(1, ATTEMPTS - CAPACITY + 1))  # arrival order, no gap, no repeat
    # What each member was told matches the list: their place is their number.
    told = sorted(r.json()["position"] for r in replies if r.json()["status"] == "waitlisted")
    assert told == numbers
    # Each booking's event says the same, its place filled in by the statement that took it.
    db = api.app.extensions["unionhub"].db
    with db.engine.connect() as conn:
        outbox = conn.execute(select(db.outbox.c.type, db.outbox.c.payload)).all()
    places = {b.id: b.position for b in _rows(api, course_id)}
    waitlisted = [json.loads(o.payload) for o in outbox if o.type == ev.WAITLISTED]
    assert Counter(o.type for o in outbox if o.type in (ev.BOOKED, ev.WAITLISTED)) == {
        ev.BOOKED: CAPACITY,
        ev.WAITLISTED: ATTEMPTS - CAPACITY,
    }
    assert all(places[w["booking_id"]] == w["position"] for w in waitlisted)


def test_a_repeated_burst_by_the_same_members_books_nobody_twice(api):
    course_id = api.course(capacity=5)
    members = [api.member() for _ in range(CLIENTS)]
    with http_server(api.app, "courses-twice") as base_url:
        first = _burst(base_url, course_id, members)
        again = _burst(base_url, course_id, members)

    assert [r.json() for r in again] == [r.json() for r in first]  # the Idempotency-Key's answer
    with api.app.extensions["unionhub"].db.engine.connect() as conn:
        b = tables.bookings.c
        assert conn.execute(select(b.id).where(b.course_id == course_id)).rowcount == CLIENTS


def test_concurrent_twins_with_one_idempotency_key_get_one_booking_and_the_same_answer(api):
    course_id = api.course(capacity=5)
    member = api.member()

    with http_server(api.app, "courses-twins") as base_url:
        replies = _burst(base_url, course_id, [member] * CLIENTS)

    assert {r.status_code for r in replies} == {201}
    assert len({r.text for r in replies}) == 1
    with api.app.extensions["unionhub"].db.engine.connect() as conn:
        b = tables.bookings.c
        assert conn.execute(select(b.id).where(b.course_id == course_id)).rowcount == 1


def _rows(api, course_id: str):
    with api.app.extensions["unionhub"].db.engine.connect() as conn:
        b = tables.bookings.c
        return conn.execute(select(tables.bookings).where(b.course_id == course_id)).all()


def test_a_booking_is_three_statements_in_two_round_trips_the_last_taking_the_course_row(api, tmp_path):
    course_id = api.course(capacity=2)
    first, seat, place = api.member(), api.member(), api.member()
    api.book(first, course_id, key="k-0")  # the process learns the course's eligibility once
    engine = api.app.extensions["unionhub"].db.engine

    with statements(api.app) as seen, round_trips(engine, tmp_path) as trips:
        answers = [api.book(seat, course_id, key="k-1").json(), api.book(place, course_id, key="k-2").json()]

    assert [a["status"] for a in answers] == ["confirmed", "waitlisted"]
    # Per booking: the member's row locked; the stored answer with the checks; the seat or number,
    # booking, event and stored answer in one statement. Round trips: BEGIN with the member's row
    # and the checks; the last statement with its COMMIT.
    assert len(seen) == 3 * 2
    assert trips.count == 2 * 2
    assert [s.lstrip().startswith("WITH taken AS") for s in seen] == [False, False, True] * 2
    with api.app.extensions["unionhub"].db.engine.connect() as conn:
        # Committed, nothing left open: another connection takes the course row at once.
        conn.execute(text("SET lock_timeout = '1s'"))
        conn.execute(select(tables.courses.c.id).where(tables.courses.c.id == course_id).with_for_update())


def test_the_checks_read_the_members_own_bookings_not_every_booking_of_the_course(api):
    # As on the day a deployment opens its first term: a pooled connection plans the checks while the
    # table is empty and keeps that plan as bookings pour in, statistics or not. Planned freely, the
    # duplicate check went by an index on the course and read every booking of the course for each
    # booking (docs/benchmarks.md, "Course booking burst").
    course_id = api.course(capacity=1)
    compiled = repository.bookings._BOOKABLE.compile(dialect=api.app.extensions["unionhub"].db.engine.dialect)
    sql = compiled.string
    for n, name in enumerate(compiled.params, start=1):
        sql = sql.replace(f"%({name})s", f"${n}")
    mine = {"course": course_id, "term": "t", "member": "m-7", "person": "member:m-7"}
    mine.update(scope="s", key="k")
    values = {**compiled.params, **mine}  # compiled.params: the OFFSET's
    execute = f"EXECUTE bookable({', '.join(repr(str(values[name])) for name in compiled.params)})"
    at = datetime.now(UTC)
    rows = [
        {"id": str(uuid.uuid4()), "course_id": course_id, "term_id": "t", "member_id": f"m-{n}",
         "child_id": None, "person": f"member:m-{n}", "status": "waitlisted", "position": n,
         "cancel_reason": None, "created_at": at, "updated_at": at}
        for n in range(2000)
    ]  # fmt: skip
    with api.app.extensions["unionhub"].db.engine.begin() as conn:
        conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        conn.exec_driver_sql(f"PREPARE bookable AS {sql}")
        conn.exec_driver_sql(execute)  # planned on the empty table, and kept
        conn.execute(tables.bookings.insert(), rows)
        plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {execute}").scalar()[0]["Plan"]

    def nodes(node):
        yield node
        for child in node.get("Plans", ()):
            yield from nodes(child)

    assert {n.get("Index Name") for n in nodes(plan) if n.get("Relation Name") == "bookings"} == {
        "ix_bookings_member_id"
    }
    assert plan["Shared Hit Blocks"] < 50  # the 2,000 bookings of the course read: thousands


def test_a_key_whose_answer_expired_books_anew_and_its_new_answer_is_stored(api):
    course_id = api.course(capacity=5)
    member = api.member()
    first = api.book(member, course_id, key="k").json()
    api.ok("DELETE", f"/api/v1/bookings/{first['id']}", api.auth(member))
    expired = datetime.now(UTC) - TTL - timedelta(minutes=1)
    with api.app.extensions["unionhub"].db.engine.begin() as conn:
        conn.execute(update(tables.idempotency_keys).values(created_at=expired))

    again = api.book(member, course_id, key="k")
    replay = api.book(member, course_id, key="k")

    assert again.status_code == 201 and again.json()["id"] != first["id"]
    assert (replay.status_code, replay.json()) == (201, again.json())


def test_a_live_answer_of_the_key_fails_the_last_statement_and_none_of_it_commits(api):
    # The member's row lock keeps a twin from getting this far; should one, its write must not commit.
    course_id = api.course(capacity=5)
    member_id = api.member()["member_id"]
    db = api.app.extensions["unionhub"].db
    request = IdempotentRequest.of(
        tables.idempotency_keys,
        f"book:{member_id}:{course_id}",
        "k",
        {"child_id": None},
        secret=api.app.extensions["courses"].idempotency_key,
    )
    with db.engine.begin() as conn:
        request.remember(conn, 201, {"id": "the twin's", "status": "confirmed"})
    at = datetime.now(UTC)
    booking = {"id": str(uuid.uuid4()), "course_id": course_id, "term_id": "t", "member_id": member_id}
    booking.update(child_id=None, person=f"member:{member_id}", created_at=at, updated_at=at)
    data = {"member_id": member_id, "booking_id": booking["id"], "course_id": course_id}
    data.update(term_id="t", occurred_at=at)

    with pytest.raises(KeyTaken), db.unit_of_work() as uow:
        seat = repository.Outcome(False, uow.event(ev.BOOKED, member_id, data), {"id": booking["id"]})
        repository.place_and_commit(uow, request, booking, seat)

    with db.engine.connect() as conn:
        confirmed = select(tables.courses.c.confirmed).where(tables.courses.c.id == course_id)
        assert conn.execute(confirmed).scalar() == 0
        assert conn.execute(select(func.count()).select_from(tables.bookings)).scalar() == 0
        assert not any(booking["id"] in p for p in conn.execute(select(db.outbox.c.payload)).scalars())


def test_a_seat_taken_between_the_checks_and_the_write_puts_the_booking_on_the_waitlist(api):
    course_id = api.course(capacity=1)
    member = api.member()
    engine = api.app.extensions["unionhub"].db.engine
    taken_meanwhile = []

    def take_the_last_seat(_conn, _cursor, statement, *_args):
        # After this booking read the course with a seat left, before it takes it.
        if statement.lstrip().startswith("WITH taken AS") and not taken_meanwhile:
            taken_meanwhile.append(statement)
            with engine.begin() as other:
                other.execute(
                    update(tables.courses).values(confirmed=1).where(tables.courses.c.id == course_id)
                )

    event.listen(engine, "before_cursor_execute", take_the_last_seat)
    try:
        reply = api.book(member, course_id, key="k")
    finally:
        event.remove(engine, "before_cursor_execute", take_the_last_seat)

    assert taken_meanwhile
    assert (reply.status_code, reply.json()["status"], reply.json()["position"]) == (201, "waitlisted", 1)
    rows = _rows(api, course_id)
    assert [(r.status, r.position) for r in rows] == [("waitlisted", 1)]
    assert api.book(member, course_id, key="k").json() == reply.json()


def test_a_seat_cancelled_many_times_at_once_is_freed_once_and_promotes_one(api):
    course_id = api.course(capacity=2)
    holder, other, first_waiting, second_waiting = (api.member() for _ in range(4))
    booked = [
        api.book(m, course_id, key=m["member_id"]).json()
        for m in (holder, other, first_waiting, second_waiting)
    ]
    assert [b["status"] for b in booked] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    start = threading.Barrier(CLIENTS)

    def cancel(_) -> requests.Response:
        with requests.Session() as session:
            start.wait()  # a double tap, many times over
            return session.delete(
                f"{base_url}/api/v1/bookings/{booked[0]['id']}",
                headers={"Authorization": holder["Authorization"]},
                timeout=60,
            )

    with http_server(api.app, "courses-cancels") as base_url, ThreadPoolExecutor(CLIENTS) as pool:
        replies = list(pool.map(cancel, range(CLIENTS)))

    assert Counter(r.status_code for r in replies) == {200: 1, 409: CLIENTS - 1}
    assert {r.json()["code"] for r in replies if r.status_code == 409} == {"booking.not_active"}
    with api.app.extensions["unionhub"].db.engine.connect() as conn:
        b, c = tables.bookings.c, tables.courses.c
        found = dict(conn.execute(select(b.id, b.status).where(b.course_id == course_id)).all())
        confirmed = conn.execute(select(c.confirmed).where(c.id == course_id)).scalar_one()
    assert [found[x["id"]] for x in booked] == ["cancelled", "confirmed", "confirmed", "waitlisted"]
    assert confirmed == 2


def test_a_staff_member_assigned_while_another_assignment_commits_is_told_so_not_a_key_error(api):
    venue = api.ok("POST", "/api/v1/venues", api.admin, {"name": "市工人文化宫", "branch_id": "b-1"}, 201)[
        "id"
    ]
    engine = api.app.extensions["unionhub"].db.engine
    with engine.connect() as first:
        # The first admin's assignment, written and not yet committed when the second one looks.
        assert repository.add_venue_staff(first, venue, "desk-1", datetime.now(UTC))
        with ThreadPoolExecutor(1) as pool:
            second = pool.submit(_assign_anew, engine, venue)
            time.sleep(0.3)  # the second waits on the first's row
            first.commit()
            added = second.result(timeout=10)

    assert added is False
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tables.venue_staff)).scalar_one() == 1


def _assign_anew(engine, venue: str) -> bool:
    with engine.begin() as conn:
        return repository.add_venue_staff(conn, venue, "desk-1", datetime.now(UTC))
