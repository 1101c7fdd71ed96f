"""Courses in-process (Flask test client) on a fresh SQLite file, trusting tokens from a test mint,
with enrolment's answers (the branch tree, members' profiles) from a stand-in over HTTP, and members
made known the way production does: member events applied by courses' own handlers.

``CoursesApi`` holds what most tests do: an admin's term and course, members who book."""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import members as m
from services.common.clock import SHANGHAI
from tests import support
from tests.support import Reply, build_app, deliver, dispose_app, member_event, service_settings

token_mint = support.token_mint()
enrolment = support.enrolment_stand_in()


@pytest.fixture
def app(tmp_path, token_mint, enrolment, clean_redis):
    settings = service_settings(
        "courses",
        tmp_path,
        **token_mint.settings,
        enrolment_url=enrolment.url,
        code_secret=base64.b64encode(os.urandom(32)).decode(),
    )
    app = build_app("courses", settings)
    yield app
    dispose_app(app)


@pytest.fixture
def api(app, token_mint, enrolment) -> CoursesApi:
    return CoursesApi(app, app.test_client(), token_mint, enrolment)


@pytest.fixture
def clock(monkeypatch):
    """Moves courses' "now" (bookings, cancellations, check-ins, no-shows) to a chosen instant."""
    from services.courses import attendance, booking

    def set_to(at: datetime) -> None:
        for module in (attendance, booking):
            monkeypatch.setattr(module, "now", lambda: at)

    return set_to


@dataclass
class CoursesApi:
    app: object
    client: object
    mint: support.TokenMint
    enrolment: support.EnrolmentStandIn

    @property
    def admin(self) -> dict:
        return self.mint.admin("root")

    def send(self, method: str, path: str, headers: dict, json=None, **extra) -> Reply:
        r = self.client.open(path, method=method, json=json, headers={**headers, **extra})
        return Reply(r.status_code, r.headers, r.get_data(), r)

    def ok(self, method: str, path: str, headers: dict, json=None, status: int = 200, **extra):
        reply = self.send(method, path, headers, json, **extra)
        assert reply.status_code == status, reply.text
        return reply.json()

    def member(self, *, branch: str = "b-1", sex: str | None = None, birth_year: int | None = None) -> dict:
        """A new active member of ``branch``, known to courses through the joined event."""
        member_id = str(uuid.uuid4())
        path = self.enrolment.tree[branch]
        deliver(self.app, member_event(m.JOINED, member_id, branch_id=branch, branch_path=path))
        self.enrolment.profiles[member_id] = {"sex": sex, "birth_year": birth_year}
        return {**self.mint.member(member_id), "member_id": member_id}

    def term(self, branch: str = "b-1", **overrides) -> str:
        today = datetime.now(SHANGHAI).date()
        body = {
            "name": "2026年秋季职工大学堂",
            "branch_id": branch,
            "booking_opens_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
            "booking_closes_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
            "starts_on": (today + timedelta(days=8)).isoformat(),
            "ends_on": (today + timedelta(days=60)).isoformat(),
        }
        body.update(overrides)
        return self.ok("POST", "/api/v1/terms", self.admin, body, 201)["id"]

    def course(self, term_id: str | None = None, *, publish: bool = True, **overrides) -> str:
        body = {
            "term_id": term_id or self.term(),
            "title": "瑜伽",
            "category": "yoga",
            "teacher": "李老师",
            "capacity": 2,
            "schedule": {"weekdays": [2, 4], "start": "19:00", "minutes": 90},
        }
        body.update(overrides)
        course_id = self.ok("POST", "/api/v1/courses", self.admin, body, 201)["id"]
        if publish:
            self.ok("POST", f"/api/v1/courses/{course_id}/publish", self.admin, status=204)
        return course_id

    def book(self, member: dict, course_id: str, key: str | None = None, **body) -> Reply:
        headers = {k: v for k, v in member.items() if k == "Authorization"}
        if key:
            headers["Idempotency-Key"] = key
        return self.send("POST", f"/api/v1/courses/{course_id}/bookings", headers, body)

    def my_bookings(self, member: dict) -> list[dict]:
        return self.ok("GET", "/api/v1/bookings/me", self.auth(member))

    @staticmethod
    def auth(member: dict) -> dict:
        return {"Authorization": member["Authorization"]}

    def outbox_types(self) -> list[str]:
        from sqlalchemy import select

        db = self.app.extensions["unionhub"].db
        with db.engine.connect() as conn:
            return [r.type for r in conn.execute(select(db.outbox).order_by(db.outbox.c.seq))]
