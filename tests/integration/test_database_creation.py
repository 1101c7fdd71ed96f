"""A service pointed at a PostgreSQL database that does not exist yet creates it on start."""

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
