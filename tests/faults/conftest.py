"""The fault runs' system (tests/faults/stack.py), started once for all of them, and what an admin and
a pool of members set up in it before the first run.

Nothing here touches the running system. When the stack cannot start (no Kafka jars, no PostgreSQL
binaries: run `bash deploy/local/infra.sh install`), the runs are skipped, or fail when
UNIONHUB_REQUIRE_INFRA is set (CI).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import MetaData, func, select

from services.common.members import add_members_table
from tests.e2e.journey import Journey, Place, join, set_up
from tests.support import Api, infra_missing

from .load import Member, Target
from .stack import ADMIN_PASSWORD, Stack, StackFailed, wait_until

POOL = 24  # members who book and redeem in every run; each run adds the ones who join during it
MEMBERS = add_members_table(MetaData())  # the projection courses, merchants and stations keep
CONSUMERS = ("courses", "merchants", "stations")  # the services that keep the members projection


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    system = Stack()
    try:
        system.start()
    except BaseException as error:
        system.stop()  # whatever part of it did start
        if isinstance(error, StackFailed):
            infra_missing(f"the fault runs' own system did not start: {error}")
        raise
    try:
        yield system
    finally:
        system.stop()


@dataclass
class Setting:
    """What the admin set up (journey.set_up) and the pool of members, known to every service."""

    journey: Journey
    place: Place
    members: list[Member]
    till_token: str
    term_id: str
    schedule: dict

    def target(self, courses: int, capacity: int, budget_fen: int) -> Target:
        """A run's own courses, each with ``capacity`` seats, and its own offer with a money budget
        (满50减5, 满100减12, 满200减30), so that each run's seats and money reconcile on their own."""
        j = self.journey
        made = {}
        for n in range(courses):
            course = j.created(
                j.admin,
                "/api/v1/courses",
                {
                    "term_id": self.term_id,
                    "title": f"故障演练课{n}",
                    "category": "tea_art",
                    "capacity": capacity,
                    "cancel_hours": 0,
                    "schedule": self.schedule,
                },
            )
            published = j.admin.post(j.url(f"/api/v1/courses/{course['id']}/publish"), timeout=10)
            assert published.status_code == 204, published.text
            made[course["id"]] = capacity
        offer = j.created(
            j.admin,
            "/api/v1/offers",
            {
                "merchant_id": self.place.merchant["id"],
                "title": "故障演练满减",
                "kind": "threshold",
                "steps": [[5000, 500], [10000, 1200], [20000, 3000]],
                "starts_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                "ends_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                "budget_kind": "money",
                "budget_total": budget_fen,
            },
        )
        return Target(
            made,
            offer["id"],
            self.place.store["id"],
            self.till_token,
            self.place.campaign["code"],
            self.members,
        )


@pytest.fixture(scope="session")
def setting(stack: Stack) -> Setting:
    admin = requests.Session()
    token = Api(admin, base_url=stack.gateway, admin_password=ADMIN_PASSWORD).login()
    admin.headers["Authorization"] = f"Bearer {token}"
    journey = Journey(stack.gateway, admin)
    place = set_up(journey)
    workers = [join(journey, place, scan=False) for _ in range(POOL)]
    members = [
        Member(w.member_id, w.session.headers["Authorization"].removeprefix("Bearer ")) for w in workers
    ]
    ids = [m.member_id for m in members]

    def known_everywhere() -> bool:
        for service in CONSUMERS:
            with stack.engine(service).connect() as conn:
                found = conn.execute(
                    select(func.count()).select_from(MEMBERS).where(MEMBERS.c.member_id.in_(ids))
                ).scalar_one()
            if found < len(ids):
                return False
        return True

    wait_until(known_everywhere, "courses, merchants and stations learning of the pool's members", 120)
    till = journey.staff_session(place.till).headers["Authorization"].removeprefix("Bearer ")
    course = admin.get(journey.url(f"/api/v1/courses/{place.course['id']}"), timeout=10).json()
    return Setting(journey, place, members, till, course["term_id"], course["schedule"])
