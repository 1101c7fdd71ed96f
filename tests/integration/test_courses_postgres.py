"""Booking opens and hundreds press "book" at once, on PostgreSQL over real HTTP: seats never pass
capacity, nobody holds two bookings for one course, and the waitlist numbers arrivals without a gap."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from services.courses import tables
from tests.api.courses.conftest import CoursesApi, enrolment, token_mint  # noqa: F401 (fixtures)
from tests.support import build_app, dispose_app, fresh_postgres_database, http_server, service_settings

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
