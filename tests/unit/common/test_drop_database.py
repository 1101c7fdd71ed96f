"""Dropping a scratch or test database: tried again while PostgreSQL will not end a backend whose
role the caller does not hold (an autovacuum worker on a database just filled), at once otherwise."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import exc

from services.common import db


class _Refused(Exception):
    def __init__(self, sqlstate: str):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


class _Server:
    """Refuses the first ``refusals`` DROPs with ``sqlstate``, then drops."""

    def __init__(self, refusals: int, sqlstate: str = "42501"):
        self.refusals, self.sqlstate = refusals, sqlstate
        self.tries, self.dropped, self.disposed = 0, [], False

    @contextmanager
    def connect(self):
        yield self

    def execute(self, statement):
        self.tries += 1
        if self.tries <= self.refusals:
            raise exc.DBAPIError(str(statement), {}, _Refused(self.sqlstate))
        self.dropped.append(str(statement))

    def dispose(self):
        self.disposed = True


@pytest.fixture
def server(monkeypatch):
    def make(refusals: int, sqlstate: str = "42501") -> _Server:
        made = _Server(refusals, sqlstate)
        monkeypatch.setattr(db, "create_engine", lambda *_, **__: made)
        monkeypatch.setattr(db.time, "sleep", lambda _: None)
        return made

    return make


def test_a_drop_refused_for_a_backend_not_ours_is_tried_again_until_it_goes(server):
    refusing = server(refusals=3)

    db.drop_database("postgresql://maintenance", "scratch_1")

    assert refusing.tries == 4
    assert refusing.dropped == ['DROP DATABASE IF EXISTS "scratch_1" WITH (FORCE)']
    assert refusing.disposed


def test_the_refusal_stands_after_the_seconds_allowed(server):
    refusing = server(refusals=1000)

    with pytest.raises(exc.DBAPIError):
        db.drop_database("postgresql://maintenance", "scratch_1", seconds=1.0)

    assert refusing.tries == 10
    assert refusing.disposed


def test_any_other_error_stands_at_once(server):
    refusing = server(refusals=1, sqlstate="55006")  # object_in_use

    with pytest.raises(exc.DBAPIError):
        db.drop_database("postgresql://maintenance", "scratch_1")

    assert refusing.tries == 1
