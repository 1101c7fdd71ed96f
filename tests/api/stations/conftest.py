"""Stations in-process (Flask test client) on a fresh SQLite file, with tokens from ``token_mint``,
members made active through the service's own handlers (``deliver``), the tests' Redis database
(db 12 for this service's runs) flushed around every test, and a stand-in for enrolment's branch
endpoints: the path of one branch, and the units of an admin's subtree with their paths, told only to
an admin whose subtree holds them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask, abort, jsonify, request

from schemas.events import members as m
from services.common.clock import SHANGHAI
from tests import support
from tests.support import Api, build_app, decode_qr, deliver, dispose_app, member_event, service_settings

token_mint = support.token_mint(scope="session")

# The union tree the fake enrolment knows: unit -> its path, federation first. A test may add a
# branch, as enrolment creates one (monkeypatch.setitem).
BRANCHES = {
    "root": ["root"],
    "city-1": ["root", "city-1"],
    "city-2": ["root", "city-2"],
    "b-1": ["root", "city-1", "b-1"],
    "b-1-1": ["root", "city-1", "b-1", "b-1-1"],
    "b-2": ["root", "city-2", "b-2"],
}


@pytest.fixture(scope="session")
def enrolment_url(token_mint):
    app = Flask("fake-enrolment")

    def admin():
        principal = app.config["VERIFIER"].verify(request.headers.get("Authorization", "").partition(" ")[2])
        if "admin" not in principal.roles:
            abort(403)
        return principal

    @app.get("/api/v1/branches/<branch_id>")
    def branch(branch_id):
        path = BRANCHES.get(branch_id)
        if path is None or not set(admin().units) & set(path):
            abort(404)
        return {"id": branch_id, "path": path}

    @app.get("/api/v1/branches")
    def subtree():
        units = set(admin().units)
        return jsonify([{"id": unit, "path": path} for unit, path in BRANCHES.items() if units & set(path)])

    from services.common.auth import TokenVerifier

    app.config["VERIFIER"] = TokenVerifier(token_mint.issuer, token_mint.issuer.issuer)
    with support.http_server(app, "fake-enrolment") as base:
        yield base


@pytest.fixture
def app(tmp_path, token_mint, enrolment_url, clean_redis):
    settings = service_settings("stations", tmp_path, enrolment_url=enrolment_url, **token_mint.settings)
    application = build_app("stations", settings)
    yield application
    dispose_app(application)


@pytest.fixture
def api(app):
    return Api(app.test_client())


def station_body(**overrides) -> dict:
    body = {
        "name": "花果园驿站",
        "address": "贵阳市南明区花果园大街1号",
        "lat": 26.5600,
        "lng": 106.6900,
        "branch_id": "b-1",
        "amenities": ["water", "microwave", "charging"],
        "opening_hours": "24/7",
        "lockers": 4,
    }
    body.update(overrides)
    return body


def join(app, *member_ids: str) -> None:
    deliver(app, *(member_event(m.JOINED, mid) for mid in member_ids))


def outbox(app) -> list:
    db = app.extensions["unionhub"].db
    with db.engine.connect() as conn:
        return list(conn.execute(db.outbox.select().order_by(db.outbox.c.seq)))


def outbox_types(app) -> list[str]:
    return [r.type for r in outbox(app)]


def this_monday():
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    return today - timedelta(days=today.weekday())


class Rig:
    """An admin, a station, a coordinator assigned to it, and helpers to put volunteers on duty now."""

    def __init__(self, app, api, mint):
        self.app, self.api, self.mint = app, api, mint
        self.admin = mint.admin("city-1")
        self.coordinator = mint.staff("coord-1", "coordinator")

    def station(self, **overrides) -> str:
        return self.api.post("/api/v1/stations", station_body(**overrides), headers=self.admin, expect=201)[
            "id"
        ]

    def assign(self, station_id: str, staff_id: str = "coord-1") -> None:
        self.api.post(
            f"/api/v1/stations/{station_id}/coordinators",
            {"staff_id": staff_id},
            headers=self.admin,
            expect=201,
        )

    def group(self, station_id: str, *member_ids: str, name: str = "一组") -> str:
        join(self.app, *member_ids)
        body = {"name": name, "member_ids": list(member_ids)}
        return self.api.post(
            f"/api/v1/stations/{station_id}/duty-groups", body, headers=self.coordinator, expect=201
        )["id"]

    def rota(self, station_id: str, weeks: int = 1, group_ids=None) -> dict:
        body = {"start": this_monday().isoformat(), "weeks": weeks}
        if group_ids:
            body["group_ids"] = group_ids
        return self.api.post(
            f"/api/v1/stations/{station_id}/rota", body, headers=self.coordinator, expect=201
        )

    def code(self, station_id: str) -> str:
        ext = self.app.extensions["stations"]
        from services.stations import repository

        with self.app.extensions["unionhub"].db.engine.connect() as conn:
            station = repository.station(conn, station_id)
        return ext.signer.sign(station.id, str(station.qr_generation))

    def checkin(self, station_id: str, member_id: str, expect: int = 201, **extra) -> dict:
        body = {"station_code": self.code(station_id), **extra}
        return self.api.post(
            "/api/v1/shifts/checkin", body, headers=self.mint.member(member_id), expect=expect
        )


@pytest.fixture
def rig(app, api, token_mint):
    return Rig(app, api, token_mint)


def qr_text(data: bytes) -> str:
    """What a scanner reads from a PNG QR."""
    (text,) = decode_qr(data)
    return text
