"""One join URL for the poster: a phone browser asking for HTML is sent to the H5 join page, which
asks the same URL for JSON; the mini-app and every other client get the JSON as before."""

from __future__ import annotations

import pytest

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def _scans(api, tree) -> int:
    stats = api.client.get(f"/api/v1/campaigns/{tree.campaign_a1['id']}/stats", headers=tree.a1_admin)
    return stats.get_json()["scans"]


def test_a_browser_is_sent_to_the_h5_join_page_without_counting_a_scan(api, tree):
    code = tree.campaign_a1["code"]

    page = api.client.get(f"/api/v1/join/{code}", headers={"Accept": BROWSER})

    assert page.status_code == 303
    assert page.headers["Location"] == f"/app/join/{code}"
    assert "Accept" in page.headers["Vary"]
    assert _scans(api, tree) == 0  # the page's own JSON request counts it, once


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        "application/json, text/plain, */*",
        "text/html;q=0.5, application/json",
    ],
)
def test_the_mini_app_and_other_clients_still_get_json(api, tree, accept):
    headers = {"Accept": accept} if accept else {}

    page = api.client.get(f"/api/v1/join/{tree.campaign_a1['code']}", headers=headers)

    assert page.status_code == 200 and page.mimetype == "application/json"
    assert page.get_json()["branch"] == tree.a1["name"]
    assert "Accept" in page.headers["Vary"]


def test_a_revoked_campaign_still_redirects_and_the_page_learns_it_is_gone(api, tree):
    campaign = tree.campaign_a1
    api.client.post(f"/api/v1/campaigns/{campaign['id']}/revoke", headers=tree.a1_admin)

    assert api.client.get(f"/api/v1/join/{campaign['code']}", headers={"Accept": BROWSER}).status_code == 303
    assert api.client.get(f"/api/v1/join/{campaign['code']}").status_code == 410
