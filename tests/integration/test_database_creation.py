"""A service pointed at a PostgreSQL database creates what is missing on start: the database itself,
its tables, and indexes a newer release added to tables that already exist."""

import uuid

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, inspect, text

from services.common.db import Database

pytestmark = pytest.mark.integration

ADMIN_URL = "postgresql+psycopg://unionhub:unionhub@127.0.0.1:55432/postgres"


def test_create_all_creates_a_missing_database_and_its_tables_and_is_idempotent():
    name = f"unionhub_new_{uuid.uuid4().hex[:8]}"
    metadata = MetaData()
    Table("things", metadata, Column("id", Integer, primary_key=True))
    database = Database(f"postgresql+psycopg://unionhub:unionhub@127.0.0.1:55432/{name}", metadata)
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        database.create_all()
        database.create_all()  # a second start finds everything in place

        assert {"things", "outbox", "inbox"} <= set(inspect(database.engine).get_table_names())
    finally:
        database.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def test_create_all_adds_an_index_missing_from_an_existing_outbox():
    name = f"unionhub_old_{uuid.uuid4().hex[:8]}"
    url = f"postgresql+psycopg://unionhub:unionhub@127.0.0.1:55432/{name}"
    database = Database(url, MetaData())
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        database.create_all()
        with database.engine.begin() as conn:  # an outbox as an earlier release left it
            conn.execute(text("DROP INDEX ix_outbox_unsent"))
        assert "ix_outbox_unsent" not in {i["name"] for i in inspect(database.engine).get_indexes("outbox")}

        database.create_all()

        indexes = {i["name"]: i for i in inspect(database.engine).get_indexes("outbox")}
        assert indexes["ix_outbox_unsent"]["column_names"] == ["seq"]
        assert "sent_at IS NULL" in indexes["ix_outbox_unsent"]["dialect_options"]["postgresql_where"]
    finally:
        database.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()
