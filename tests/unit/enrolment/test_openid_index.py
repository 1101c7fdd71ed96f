"""Revision fab4fc32b54a: members indexed by openid, every membership and not only current ones,
for erasure's lookup (repository.unerased_members_of); on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text

from services.common import kit, migrations
from tests.support import SQLITE_AND_POSTGRES, migrate, service_database

INDEX_REVISION = "fab4fc32b54a"
BEFORE = "7523ba8c0d42"


@pytest.fixture(params=SQLITE_AND_POSTGRES)
def database(request, tmp_path):
    with service_database("enrolment", request.param, tmp_path, "openid") as found:
        yield found


def _indexes(database) -> dict[str, dict]:
    with database.engine.connect() as conn:
        return {i["name"]: i for i in inspect(conn).get_indexes("members")}


def test_the_upgrade_indexes_every_membership_by_openid_and_the_downgrade_drops_it(database):
    settings, db = database
    migrate("enrolment", db, BEFORE)
    assert "ix_members_openid" not in _indexes(db)

    migrations.upgrade("enrolment", settings)

    index = _indexes(db)["ix_members_openid"]
    assert index["column_names"] == ["openid"] and not index["unique"]
    assert not index.get("dialect_options", {}).get(f"{db.engine.dialect.name}_where")  # not partial
    assert migrations.compare("enrolment", settings) == []

    migrate("enrolment", db, BEFORE, down=True)

    assert "ix_members_openid" not in _indexes(db)
    assert "uq_members_current_openid" in _indexes(db)


def test_erasures_lookup_uses_the_index_on_sqlite(tmp_path):
    # unerased_members_of's query: the partial uq_members_current_openid cannot serve it.
    settings = kit.load_settings("enrolment", env={"DATABASE_URL": f"sqlite:///{tmp_path}/enrolment.db"})
    migrations.upgrade("enrolment", settings)
    engine = kit.database("enrolment", settings).engine
    try:
        with engine.connect() as conn:
            plan = conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT * FROM members"
                    " WHERE openid = 'o-1' AND erased_at IS NULL ORDER BY id"
                )
            ).all()
    finally:
        engine.dispose()
    assert any("ix_members_openid" in row[-1] for row in plan), plan
