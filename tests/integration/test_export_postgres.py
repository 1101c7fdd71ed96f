"""The member export on PostgreSQL: 100,000 members read through a server-side cursor in bounded
memory, with the export audited (issue 8, items 7 and 10). SQLite cannot show the cursor: there the
driver steps through rows anyway; psycopg fetches a whole result unless told to stream."""

from __future__ import annotations

import tracemalloc

import pytest
from sqlalchemy import text

from services.enrolment import tables as et
from tests.api.enrolment.conftest import EnrolmentApi, identity_url, make_settings  # noqa: F401 (fixtures)
from tests.api.enrolment.test_hardening import EXPORT_MEMBERS, EXPORT_MEMORY_LIMIT, member_rows
from tests.support import build_app, dispose_app, fresh_postgres_database

pytestmark = pytest.mark.integration  # tests/conftest.py skips (or fails) when PostgreSQL is absent


@pytest.fixture
def api(make_settings):  # noqa: F811 (the fixture imported above)
    with fresh_postgres_database("export_test") as url:
        app = build_app("enrolment", make_settings(database_url=url))
        yield EnrolmentApi(app.test_client(), app)
        dispose_app(app)


def test_an_export_of_100000_members_streams_from_postgres_in_bounded_memory(api):
    admin = api.admin()
    city = api.unit(admin, "贵阳市总工会", parent_id=api.root_id(), kind="city")
    branch = api.unit(admin, "贵阳市顺丰分会", parent_id=city["id"])
    engine = api.app.extensions["unionhub"].db.engine
    with engine.begin() as conn:
        rows = member_rows(branch["id"], EXPORT_MEMBERS)
        while batch := [row for _, row in zip(range(10_000), rows, strict=False)]:
            conn.execute(et.members.insert(), batch)
    api.send("GET", "/api/v1/members/export.csv?status=left", headers=admin)  # first-request set-up

    tracemalloc.start()
    try:
        response = api.client.get("/api/v1/members/export.csv", headers=admin, buffered=False)
        lines = sum(chunk.count(b"\n") for chunk in response.iter_encoded())
        response.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 200
    assert lines == EXPORT_MEMBERS + 1
    assert peak < EXPORT_MEMORY_LIMIT, f"peak {peak / 1e6:.1f} MB"
    with engine.connect() as conn:
        audited = conn.execute(text("select fields from audit_log where action = 'export_members'")).all()
    assert [row.fields[0] for row in audited] == ["count=0", f"count={EXPORT_MEMBERS}"]
