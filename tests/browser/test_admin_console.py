"""Union staff at a desktop: an admin of one branch logs in to the console, sees the four charts
drawn from the branch's own data, and creates a campaign with a form (a bad one first)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from services.common.clock import SHANGHAI
from tests.browser.page import DESKTOP
from tests.e2e import journey as steps
from tests.e2e.journey import Journey, Place, Worker, until
from tests.support import STAFF_PASSWORD

CHARTS = ("#chart-funnel", "#chart-redemptions", "#chart-coverage", "#chart-fill")


def station_with_a_duty_due_soon(j: Journey, place: Place, worker: Worker) -> datetime:
    """A station of the branch that opens in a minute or so, with the worker's group on its rota.

    Coverage counts only duties already due, and a rota made now holds only future duties: a station
    that opens 24/7 has none due before midnight. This one's opening duty falls due at the time
    answered; wait for it before the chart can show a week."""
    opens = (datetime.now(SHANGHAI) + timedelta(seconds=90)).replace(second=0, microsecond=0)
    assert opens.date() == datetime.now(SHANGHAI).date(), "run again after midnight (Asia/Shanghai)"
    station = j.created(
        j.admin,
        "/api/v1/stations",
        {
            "name": f"图表驿站{j.suffix}",
            "address": "贵阳市南明区",
            "lat": 26.58,
            "lng": 106.72,
            "branch_id": place.branch["id"],
            "amenities": ["water"],
            "opening_hours": f"Mo-Su {opens:%H:%M}-24:00",
            "lockers": 0,
        },
    )
    group = until(
        lambda: j.admin.post(
            j.url(f"/api/v1/stations/{station['id']}/duty-groups"),
            json={"name": "图表值班组", "member_ids": [worker.member_id]},
            timeout=10,
        ),
        lambda r: r.status_code == 201,
        "stations learning of the new member",
    ).json()
    monday = opens.date() - timedelta(days=opens.weekday())
    j.created(
        j.admin,
        f"/api/v1/stations/{station['id']}/rota",
        {"start": monday.isoformat(), "weeks": 1, "group_ids": [group["id"]]},
    )
    return opens


def test_a_branch_admin_sees_the_four_charts_and_creates_a_campaign(browser, journey, place):
    # What the charts draw, all in the branch: a worker scanned the poster and joined, bought at the
    # till, is on a station's rota; the term has its published course (journey.set_up).
    worker = steps.join(journey, place)
    due = station_with_a_duty_due_soon(journey, place, worker)
    steps.redeem(journey, place, worker)
    username = f"admin-{journey.suffix}"
    journey.created(
        journey.admin,
        "/api/v1/staff",
        {"username": username, "password": STAFF_PASSWORD, "roles": ["admin"], "unit_id": place.branch["id"]},
    )
    time.sleep(max(0.0, (due - datetime.now(SHANGHAI)).total_seconds() + 1))

    browser.viewport(DESKTOP)
    browser.open("/app/admin")
    browser.log_in(username, STAFF_PASSWORD)
    browser.visible("#console")
    for chart in CHARTS:
        browser.until(lambda _, chart=chart: browser.drawn(chart), f"{chart} drawn")
        assert not browser.find(f"{chart}-empty").is_displayed()
    assert browser.find("#funnel-campaign").get_attribute("value") == place.campaign["id"]

    # Members and campaigns: the branch's campaign, and the form for a new one (a nameless one first).
    browser.tap('[data-tab="enrolment"]')
    browser.text("#campaigns", place.campaign["name"])
    browser.pick("#campaign-branch", place.branch["id"])
    browser.expect_error("/api/v1/campaigns", 422)
    browser.tap("#campaign-form button[type=submit]")
    browser.field_error("#campaign-form", "name")
    name = f"页面扫码入会{journey.suffix}"
    browser.type("#campaign-name", name)
    browser.tap("#campaign-form button[type=submit]")
    browser.text("#campaigns", name)
    assert not browser.find('#campaign-form [data-error-for="name"]').is_displayed()
    campaigns = journey.admin.get(journey.url("/api/v1/campaigns"), timeout=10).json()
    made = [c["name"] for c in campaigns if c["branch_id"] == place.branch["id"]]
    assert sorted(made) == sorted([place.campaign["name"], name])  # the nameless one made nothing
