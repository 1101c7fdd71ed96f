"""A service's own secrets (set, generated once locally, or refused) and asking enrolment where a
branch sits in the tree."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from flask import Flask, abort, request

from services.common import local_secrets
from services.common.config import Settings
from services.common.domain import NotFound, Unavailable
from services.common.units import Units, in_scope
from tests.support import http_server


@dataclass(frozen=True)
class WithSecret(Settings):
    code_secret: str = ""


def test_a_set_secret_is_used_and_a_short_one_refused():
    given = base64.b64encode(b"s" * 32).decode()
    assert local_secrets.secret(WithSecret("courses", code_secret=given), "code_secret") == b"s" * 32
    with pytest.raises(local_secrets.MissingSecret, match="32 bytes"):
        local_secrets.secret(
            WithSecret("courses", code_secret=base64.b64encode(b"s").decode()), "code_secret"
        )


def test_a_local_run_generates_a_secret_once_and_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setenv("UNIONHUB_HOME", str(tmp_path))
    settings = WithSecret("courses")

    first = local_secrets.secret(settings, "code_secret")

    assert len(first) == 32
    assert local_secrets.secret(settings, "code_secret") == first
    assert (tmp_path / "courses" / "secrets.json").stat().st_mode & 0o077 == 0  # private to the owner


def test_outside_a_local_run_a_missing_secret_stops_start_up_naming_the_variable():
    with pytest.raises(local_secrets.MissingSecret, match="UNIONHUB_CODE_SECRET"):
        local_secrets.secret(WithSecret("courses", generate_local_secrets=False), "code_secret")


@pytest.fixture(scope="module")
def enrolment_url():
    app = Flask("tree")

    @app.get("/api/v1/branches/<branch_id>")
    def branch(branch_id):
        if request.headers.get("Authorization") != "Bearer good":
            abort(404)
        if branch_id == "broken":
            abort(500)
        if branch_id == "behind-a-proxy":  # a proxy's maintenance page, answered with a 200
            return "<html><body>维护中</body></html>"
        return {"id": branch_id, "path": ["root", branch_id]}

    with http_server(app, "tree") as url:
        yield url


def test_a_branch_path_comes_from_enrolment_with_the_admins_token(enrolment_url):
    units = Units(enrolment_url)

    assert units.path("b-1", "good") == ["root", "b-1"]
    with pytest.raises(NotFound):
        units.path("b-1", "someone-elses")
    with pytest.raises(Unavailable):
        units.path("broken", "good")
    with pytest.raises(Unavailable):
        units.path("behind-a-proxy", "good")
    with pytest.raises(Unavailable):
        Units("http://127.0.0.1:9").path("b-1", "good")  # nothing listens there


def test_an_admin_manages_objects_at_or_below_their_units():
    assert in_scope(["root", "city", "b-1"], ["city"])
    assert not in_scope(["root", "city", "b-1"], ["b-2"])
    assert not in_scope(None, ["root"])
