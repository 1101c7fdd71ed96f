"""What courses and merchants make of enrolment's answers when they are not what they asked for: a
login enrolment no longer knows, or a page from a proxy in front of it instead of JSON."""

from __future__ import annotations

import pytest
from flask import Flask, request

from services.common.domain import Forbidden, Unavailable
from services.common.errors import Problem
from services.courses.profiles import Profile, Profiles
from services.merchants.logins import Logins
from tests.support import http_server

PROXY_PAGE = "<html><body>502 Bad Gateway</body></html>"


@pytest.fixture(scope="module")
def enrolment_url():
    app = Flask("enrolment-answers")

    @app.get("/api/v1/members/me")
    def me():
        token = request.headers["Authorization"].removeprefix("Bearer ")
        if token == "moved":  # the membership went to another person, or was erased
            return {"code": "member.not_found"}, 404
        if token == "refused":  # a token enrolment no longer takes (its key withdrawn)
            return {"code": "token_invalid"}, 401
        if token == "proxied":
            return PROXY_PAGE
        return {"sex": "F", "birth_year": 1990}

    @app.post("/api/v1/staff")
    def staff():
        return PROXY_PAGE, 201

    with http_server(app, "enrolment-answers") as url:
        yield url


def test_a_profile_enrolment_no_longer_holds_is_refused_not_retried(enrolment_url):
    profiles = Profiles(enrolment_url, timeout=5)

    assert profiles.of("current") == Profile("F", 1990)
    with pytest.raises(Forbidden, match="member.inactive"):
        profiles.of("moved")
    with pytest.raises(Problem, match="token_invalid"):
        profiles.of("refused")
    with pytest.raises(Unavailable, match="profile.unavailable"):
        profiles.of("proxied")


def test_a_till_login_answered_by_a_proxys_page_is_unavailable_not_a_500(enrolment_url):
    with pytest.raises(Unavailable, match="enrolment.unavailable"):
        Logins(enrolment_url).create_till("admin", username="t", password="p" * 12, unit_id="u", key="k")
