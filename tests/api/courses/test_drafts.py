"""Listing draft courses (`GET /api/v1/courses?status=draft`): the admins over a course's branch see
it until they publish it; admins of other branches and members never do. The members' listing of
published courses is unchanged."""

from __future__ import annotations

import pytest


def _listed(api, who: dict, **query) -> list[str]:
    params = "&".join(f"{name}={value}" for name, value in query.items())
    return [c["id"] for c in api.ok("GET", f"/api/v1/courses?{params}", who)]


def test_an_admin_sees_the_drafts_of_their_subtree_newest_first_until_publishing_them(api, token_mint):
    term = api.term(branch="b-1")
    draft = api.course(
        term, publish=False, title="书法", category="calligraphy", seats_per_member=2, branch_ids=["b-1"]
    )
    published = api.course(term, title="瑜伽")
    newer = api.course(term, publish=False, title="茶艺", category="tea_art")
    branch_admin = token_mint.admin("b-1")

    for admin in (api.admin, branch_admin):  # the federation above, and the branch itself
        assert _listed(api, admin, term_id=term, status="draft") == [newer, draft]
        assert _listed(api, admin, status="draft")[:2] == [newer, draft]  # every term the admin manages
    rows = api.ok("GET", f"/api/v1/courses?term_id={term}&status=draft", branch_admin)
    assert [(r["status"], r["title"], r["seats_left"]) for r in rows] == [
        ("draft", "茶艺", 2),
        ("draft", "书法", 2),
    ]
    assert _listed(api, branch_admin, term_id=term) == [published]  # the default is published
    detail = api.ok("GET", f"/api/v1/courses/{draft}", branch_admin)  # what the admin set, read back
    assert (detail["seats_per_member"], detail["branch_ids"]) == (2, ["b-1"])

    api.ok("POST", f"/api/v1/courses/{draft}/publish", branch_admin, status=204)

    assert _listed(api, branch_admin, term_id=term, status="draft") == [newer]
    assert set(_listed(api, branch_admin, term_id=term)) == {draft, published}
    seen_by_member = api.ok("GET", f"/api/v1/courses/{draft}", api.auth(api.member()))
    assert seen_by_member["seats_per_member"] == 2 and "branch_ids" not in seen_by_member


def test_another_branchs_admin_sees_none_of_its_drafts(api, token_mint):
    term = api.term(branch="b-1")
    draft = api.course(term, publish=False)
    outsider = token_mint.admin("b-2")
    own_term = api.term(branch="b-2")
    own_draft = api.course(own_term, publish=False)

    refused = api.send("GET", f"/api/v1/courses?term_id={term}&status=draft", outsider)

    assert (refused.status_code, refused.json()["code"]) == (404, "term.not_found")
    assert _listed(api, outsider, status="draft") == [own_draft]
    assert set(_listed(api, api.admin, status="draft")) == {draft, own_draft}  # the federation, both


def test_members_never_see_drafts(api, token_mint):
    term = api.term()
    draft = api.course(term, publish=False)
    member = api.member()

    for who in (member, token_mint.staff("desk", "venue")):
        refused = api.send("GET", f"/api/v1/courses?term_id={term}&status=draft", who)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert draft not in _listed(api, member, term_id=term)
    assert draft not in _listed(api, member)  # every open term
    assert api.send("GET", f"/api/v1/courses/{draft}", member).status_code == 404


@pytest.mark.parametrize("status", ["archived", "", "DRAFT"])
def test_an_unknown_status_is_a_field_error(api, status):
    reply = api.send("GET", f"/api/v1/courses?status={status}", api.admin, **{"Accept-Language": "en"})

    assert reply.status_code == 422
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    (error,) = reply.json()["errors"]
    assert error["field"] == "status" and error["message"]


def test_the_openapi_document_describes_the_status_filter(app):
    document = app.test_client().get("/openapi.json").get_json()
    parameters = document["paths"]["/api/v1/courses"]["get"]["parameters"]

    (status,) = [p for p in parameters if p["name"] == "status"]
    assert status["in"] == "query" and status["schema"]["enum"] == ["published", "draft"]
    assert "admins only" in status["description"]
