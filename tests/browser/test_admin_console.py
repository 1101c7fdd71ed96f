"""Union staff at a desktop: an admin of one branch logs in to the console, sees the four charts
drawn from the branch's own data (seven merchants: the five busiest by name, the rest as others),
and creates a campaign with a form (a bad one first); an admin of a city union adds a branch, offered
only the units that may have branches under them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from selenium.webdriver.common.by import By

from services.common.clock import SHANGHAI
from tests.browser.page import DESKTOP
from tests.e2e import journey as steps
from tests.e2e.journey import Journey, Place, Worker, until
from tests.support import STAFF_PASSWORD

CHARTS = ("#chart-funnel", "#chart-redemptions", "#chart-coverage", "#chart-fill")


def station_with_a_duty_falling_due(j: Journey, place: Place, worker: Worker) -> str:
    """A station of the branch whose rota has a duty falling due within about a minute, whatever
    the time of day.

    Coverage counts only duties already due, and stations puts on a rota only duties still to come,
    at the minutes its opening hours name. So the opening hours are set, right before the rota is
    made, to open at the next whole minute at least 10 s away: that minute's duty is on the rota and
    is due by the time the console is looked at. Just before midnight that minute is 00:00, the
    close of today's "…-24:00" and tomorrow's opening; two weeks of rota hold it on a Sunday too."""
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
            "opening_hours": "24/7",
            "lockers": 0,
        },
    )
    path = f"/api/v1/stations/{station['id']}"
    group = until(
        lambda: j.admin.post(
            j.url(f"{path}/duty-groups"),
            json={"name": "图表值班组", "member_ids": [worker.member_id]},
            timeout=10,
        ),
        lambda r: r.status_code == 201,
        "stations learning of the new member",
    ).json()
    now = datetime.now(SHANGHAI)
    opens = (now + timedelta(seconds=70)).replace(second=0, microsecond=0)
    hours = j.admin.patch(j.url(path), json={"opening_hours": f"Mo-Su {opens:%H:%M}-24:00"}, timeout=10)
    assert hours.status_code == 200, hours.text
    while True:
        monday = local_monday()
        rota = j.admin.post(
            j.url(f"{path}/rota"),
            json={"start": monday.isoformat(), "weeks": 2, "group_ids": [group["id"]]},
            timeout=10,
        )
        # Refused as past only if a Sunday turned into Monday since this Monday was worked out.
        if not (rota.status_code == 422 and local_monday() != monday):
            break
    assert rota.status_code == 201, rota.text
    assert rota.json()["duties"] > 0 and datetime.now(SHANGHAI) < opens, (rota.json(), opens)
    return station["id"]


def local_monday():
    today = datetime.now(SHANGHAI).date()
    return today - timedelta(days=today.weekday())


def duty_due(j: Journey, station_id: str) -> None:
    """Until the station's stats count a duty as due (the chart draws from them)."""
    until(
        lambda: j.admin.get(
            j.url(f"/api/v1/stations/{station_id}/stats"),
            params={"from": (datetime.now(SHANGHAI).date() - timedelta(days=1)).isoformat()},
            timeout=10,
        ),
        lambda r: r.status_code == 200 and any(d["duties_scheduled"] for d in r.json()["days"]),
        "the station's first duty falling due",
        seconds=90,
        pause=1,
    )


def merchants_with_a_sale_each(j: Journey, place: Place, worker: Worker, count: int) -> None:
    """``count`` more merchants of the branch, each with a store, an offer, a till and one sale to the
    worker: with the branch's own, more merchants than the chart names."""
    for n in range(count):
        merchant = j.created(
            j.admin,
            "/api/v1/merchants",
            {"name": f"图表商户{n}{j.suffix}", "category": "food", "branch_id": place.branch["id"]},
        )
        store = j.created(
            j.admin, f"/api/v1/merchants/{merchant['id']}/stores", {"name": "店", "lat": 26.6, "lng": 106.7}
        )
        till = f"till{n}-{j.suffix}"
        j.created(
            j.admin,
            f"/api/v1/merchants/{merchant['id']}/staff",
            {"username": till, "password": STAFF_PASSWORD, "store_ids": [store["id"]]},
        )
        j.created(
            j.admin,
            "/api/v1/offers",
            {
                "merchant_id": merchant["id"],
                "title": "立减1元",
                "kind": "fixed",
                "fixed_fen": 100,
                "starts_at": (datetime.now(SHANGHAI) - timedelta(days=1)).isoformat(),
                "ends_at": (datetime.now(SHANGHAI) + timedelta(days=7)).isoformat(),
            },
        )
        card = worker.session.get(j.url("/api/v1/members/me/card/token"), timeout=10).json()["token"]
        j.created(
            j.staff_session(till),
            "/api/v1/redemptions",
            {"card_token": card, "store_id": store["id"], "amount_fen": 1000},
            **{"Idempotency-Key": uuid.uuid4().hex},
        )


def parents(browser) -> list[str]:
    options = browser.driver.find_elements(By.CSS_SELECTOR, "#branch-parent option")
    return [option.get_attribute("value") for option in options]


def series_of(browser, chart: str) -> dict[str, list]:
    """What a chart draws, by its datasets' labels (Chart.js keeps them on the chart)."""
    return browser.driver.execute_script(
        """
        const chart = Chart.getChart(document.querySelector(arguments[0]));
        return Object.fromEntries(chart.data.datasets.map((d) => [d.label, d.data]));
        """,
        chart,
    )


def bars_off_the_count_axis(browser, chart: str) -> list[str]:
    """The bar datasets a chart draws against another axis than its counts' ("y"), such as a rate's."""
    return browser.driver.execute_script(
        """
        const chart = Chart.getChart(document.querySelector(arguments[0]));
        const bar = (d) => (d.type ?? chart.config.type) === "bar";
        return chart.data.datasets.filter((d, i) => bar(d) && chart.getDatasetMeta(i).yAxisID !== "y")
          .map((d) => d.label);
        """,
        chart,
    )


def legend_of(browser, chart: str) -> dict:
    return browser.driver.execute_script(
        """
        const chart = Chart.getChart(document.querySelector(arguments[0]));
        return { labels: chart.legend.legendItems.map((item) => item.text), height: chart.legend.height,
                 chart: chart.height };
        """,
        chart,
    )


def test_a_branch_admin_sees_the_four_charts_and_creates_a_campaign(browser, journey, place):
    # What the charts draw, all in the branch: a worker scanned the poster and joined, bought at the
    # tills of seven merchants, is on a station's rota; the term has its published course.
    worker = steps.join(journey, place)
    station_id = station_with_a_duty_falling_due(journey, place, worker)
    sale = steps.redeem(journey, place, worker)
    card = worker.session.get(journey.url("/api/v1/members/me/card/token"), timeout=10).json()["token"]
    journey.created(  # a second sale: the branch's own merchant is the busiest
        sale.till, "/api/v1/redemptions", {**sale.body, "card_token": card}, **{"Idempotency-Key": "sale-3"}
    )
    merchants_with_a_sale_each(journey, place, worker, 6)
    username = f"admin-{journey.suffix}"
    journey.created(
        journey.admin,
        "/api/v1/staff",
        {"username": username, "password": STAFF_PASSWORD, "roles": ["admin"], "unit_id": place.branch["id"]},
    )

    browser.viewport(DESKTOP)
    browser.open("/app/admin")
    browser.visible("#login-form")
    browser.usable(phone=False)
    browser.log_in(username, STAFF_PASSWORD)
    browser.visible("#console")
    for chart in ("#chart-funnel", "#chart-redemptions", "#chart-fill"):
        browser.until(lambda _, chart=chart: browser.drawn(chart), f"{chart} drawn")
        assert not browser.find(f"{chart}-empty").is_displayed()
    assert browser.find("#funnel-campaign").get_attribute("value") == place.campaign["id"]
    funnel = series_of(browser, "#chart-funnel")
    # The worker's join (scans from this machine are past enrolment's bound per address by now).
    assert sum(funnel["入会"]) == 1, funnel
    # Seven merchants: the five with the most sales by name, the other two as one, and the discount.
    legend = legend_of(browser, "#chart-redemptions")
    assert len(legend["labels"]) == 7 and "其他2家商户" in legend["labels"], legend
    assert f"华联超市{journey.suffix}" in legend["labels"]  # journey.set_up names it
    assert legend["height"] < legend["chart"] / 4, legend  # the chart is the chart, not its legend

    # Members and campaigns: the branch's campaign, and the form for a new one (a nameless one first).
    # An admin of one grassroots branch has no unit to add a branch under: no such form.
    browser.tap('[data-tab="enrolment"]')
    browser.text("#campaigns", place.campaign["name"])
    assert not browser.find("#branch-form").is_displayed()
    browser.pick("#campaign-branch", place.branch["id"])
    browser.expect_error("/api/v1/campaigns", 422)
    browser.tap("#campaign-form button[type=submit]")
    browser.field_error("#campaign-form", "name")
    browser.usable(phone=False)
    name = f"页面扫码入会{journey.suffix}"
    browser.type("#campaign-name", name)
    browser.tap("#campaign-form button[type=submit]")
    browser.text("#campaigns", name)
    assert not browser.find('#campaign-form [data-error-for="name"]').is_displayed()
    campaigns = journey.admin.get(journey.url("/api/v1/campaigns"), timeout=10).json()
    made = [c["name"] for c in campaigns if c["branch_id"] == place.branch["id"]]
    assert sorted(made) == sorted([place.campaign["name"], name])  # the nameless one made nothing

    # Every other tab and its forms, with the branch's objects listed.
    for tab in ("courses", "merchants", "stations"):
        browser.tap(f'[data-tab="{tab}"]')
        browser.visible(f'[data-panel="{tab}"] table')  # the branch's terms, merchants, stations
        browser.usable(phone=False)

    # The coverage chart: the station's duty, due by now (or in a few seconds), drawn once it is.
    duty_due(journey, station_id)
    browser.driver.refresh()  # the login is kept for the tab
    browser.visible("#console")
    for chart in CHARTS:
        browser.until(lambda _, chart=chart: browser.drawn(chart), f"{chart} drawn")
        assert not browser.find(f"{chart}-empty").is_displayed()
        assert bars_off_the_count_axis(browser, chart) == [], chart
    browser.usable(phone=False)
    browser.pick("#funnel-campaign", place.campaign["id"])  # the one with a join
    browser.until(lambda _: sum(series_of(browser, "#chart-funnel")["入会"]) == 1, "the funnel redrawn")
    browser.snapshot("console-charts")


def test_a_new_branch_goes_under_a_unit_that_may_have_branches(browser, journey, admin):
    """A city union's admin adds a branch: the parents offered are the units that may have units
    under them (the city, not its branches, which enrolment would refuse as parents)."""
    units = admin.get(journey.url("/api/v1/branches"), timeout=10).json()
    root = next(u for u in units if not u["parent_id"])
    city = journey.created(
        admin,
        "/api/v1/branches",
        {"name": f"页面市总工会{journey.suffix}", "parent_id": root["id"], "kind": "city"},
    )
    branch = journey.created(
        admin, "/api/v1/branches", {"name": f"页面分会{journey.suffix}", "parent_id": city["id"]}
    )
    username = f"city-{journey.suffix}"
    journey.created(
        admin,
        "/api/v1/staff",
        {"username": username, "password": STAFF_PASSWORD, "roles": ["admin"], "unit_id": city["id"]},
    )

    browser.viewport(DESKTOP)
    browser.open("/app/admin")
    browser.log_in(username, STAFF_PASSWORD)
    browser.tap('[data-tab="enrolment"]')
    browser.text("#branches", branch["name"])
    assert parents(browser) == [city["id"]]
    browser.usable(phone=False)

    name = f"页面新分会{journey.suffix}"
    browser.type("#branch-name", name)
    browser.tap("#branch-form button[type=submit]")
    browser.text("#branches", name)
    units = admin.get(journey.url("/api/v1/branches"), timeout=10).json()
    (made,) = [u for u in units if u["name"] == name]
    assert (made["parent_id"], made["kind"]) == (city["id"], "branch")
    assert parents(browser) == [city["id"]]  # the new branch is not offered as a parent either
