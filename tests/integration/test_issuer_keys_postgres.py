"""The copy of enrolment's JWKS a service keeps in its database (services/common/auth.py
IssuerKeysCopy), on PostgreSQL: its INSERT ... ON CONFLICT is PostgreSQL's there, and the unit
tests (tests/unit/common/test_auth_jwks.py) run SQLite's."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from sqlalchemy import MetaData, select

from services.common.auth import TokenVerifier
from services.common.db import Database
from services.common.jwks import IssuerKeysCopy, JwksKeys
from tests.support import fresh_postgres_database, http_server, token_mint

pytestmark = pytest.mark.integration  # tests/conftest.py skips (or fails) when PostgreSQL is absent

mint = token_mint(scope="module")


@pytest.fixture
def database():
    with fresh_postgres_database("issuer_keys") as url:
        db = Database(url, MetaData())
        db.create_all()
        yield db
        db.engine.dispose()


def test_the_jwks_is_kept_once_and_checks_tokens_in_a_process_started_while_enrolment_is_down(database, mint):
    enrolment = Flask("enrolment-jwks")
    down = threading.Event()

    @enrolment.get("/.well-known/jwks.json")
    def jwks():
        return ("down", 503) if down.is_set() else mint.issuer.jwks()

    def started(url: str) -> TokenVerifier:
        copy = IssuerKeysCopy(database.engine, database.issuer_keys)
        return TokenVerifier(JwksKeys(url, copy=copy), mint.issuer.issuer)

    def kept() -> list:
        with database.engine.connect() as conn:
            return conn.execute(select(database.issuer_keys)).all()

    token = mint.issuer.issue("staff:1", ["till"])[0]
    with http_server(enrolment) as base:
        url = f"{base}/.well-known/jwks.json"
        started(url).verify(token)
        [row] = kept()
        started(url).verify(token)  # another process, fetching the same document
        assert kept() == [row]  # left as it was, fetched_at too

        down.set()
        assert started(url).verify(token).subject == "staff:1"
