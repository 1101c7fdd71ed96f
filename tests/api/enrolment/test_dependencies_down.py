"""Redis or the database down: 503 with Retry-After and a problem code, never a 500. Rate limits
fail open and are counted; the single-use card check fails closed."""

from __future__ import annotations

from prometheus_client import REGISTRY
from sqlalchemy import create_engine, event, exc

from services.enrolment import tables as et
from tests.support import ADMIN_PASSWORD, PROBLEM

from .test_hardening import add_members

NOWHERE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _failed_open() -> float:
    return REGISTRY.get_sample_value("unionhub_rate_limit_failed_open_total") or 0.0


def test_with_redis_down_logins_and_the_join_page_still_work_and_the_skipped_limits_are_counted(
    api, tree, make_app
):
    down = make_app(redis_url=NOWHERE_REDIS).test_client()
    before = _failed_open()

    login = down.post("/api/v1/auth/staff/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    page = down.get(f"/api/v1/join/{tree.campaign_a1['code']}")

    assert login.status_code == 200 and "access_token" in login.get_json()
    assert page.status_code == 200 and page.get_json()["branch"] == tree.a1["name"]
    assert _failed_open() > before


def test_with_redis_down_a_card_code_is_refused_with_503_never_accepted_unchecked(api, tree, make_app):
    worker = api.member(tree.campaign_a1["code"])
    code = api.client.get("/api/v1/members/me/card/token", headers=worker.headers).get_json()["token"]
    till = api.staff(tree.fed_admin, "till-1", roles=("till",))
    down = make_app(redis_url=NOWHERE_REDIS).test_client()

    response = down.post("/api/v1/card-tokens/redeem", json={"token": code}, headers=till)

    assert response.status_code == 503
    assert response.mimetype == PROBLEM
    assert response.get_json()["code"] == "service_unavailable"
    assert int(response.headers["Retry-After"]) > 0
    # The code was not spent: with Redis back it is accepted, once.
    assert (
        api.client.post("/api/v1/card-tokens/redeem", json={"token": code}, headers=till).status_code == 200
    )


def test_with_the_database_down_requests_get_503_with_retry_after(api, tree, app):
    db = app.extensions["unionhub"].db
    working = db.engine
    db.engine = create_engine(
        "postgresql+psycopg://u:p@127.0.0.1:1/nowhere", connect_args={"connect_timeout": 1}
    )
    try:
        for response in (
            api.client.get("/api/v1/branches", headers=tree.fed_admin),
            api.client.get(f"/api/v1/join/{tree.campaign_a1['code']}"),
            api.client.post("/api/v1/branches", json={"name": "新分会"}, headers=tree.fed_admin),
        ):
            assert response.status_code == 503, response.get_json()
            assert response.mimetype == PROBLEM
            assert response.get_json()["code"] == "service_unavailable"
            assert int(response.headers["Retry-After"]) > 0
    finally:
        db.engine.dispose()
        db.engine = working


def test_an_export_whose_database_goes_away_after_its_audit_is_503_and_stays_on_record(api, tree, app):
    add_members(api, tree.a1["id"], 3)

    @event.listens_for(app.extensions["unionhub"].db.engine, "before_cursor_execute")
    def _gone(conn, cursor, statement, params, context, many):
        # The export's own read, on its own connection once the audit row has committed.
        if statement.lstrip().upper().startswith("SELECT MEMBERS.ID, MEMBERS.UNIT_ID"):
            raise exc.OperationalError(statement, params, Exception("server closed the connection"))

    try:
        response = api.client.get("/api/v1/members/export.csv", headers=tree.city_a_admin)
    finally:
        event.remove(app.extensions["unionhub"].db.engine, "before_cursor_execute", _gone)

    assert response.status_code == 503 and response.mimetype == PROBLEM
    assert int(response.headers["Retry-After"]) > 0
    assert api.count(et.audit_log) == 1  # the attempt is on record, as the audit comes first
