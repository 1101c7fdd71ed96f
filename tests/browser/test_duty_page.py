"""A volunteer on duty, on the phone: check in with the station's code and the phone's location,
log a duty, deposit a courier's things in a locker and hand them back, check out."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from services.common.clock import SHANGHAI
from tests.e2e import journey as steps
from tests.e2e.journey import qr, until

NEAR = (26.5701, 106.7101)  # about 15 m from the station journey.set_up makes (26.57, 106.71)
FAR = (26.6, 106.75)  # a few kilometres away


def test_a_volunteer_checks_in_where_the_station_is_logs_lockers_and_checks_out(browser, journey, place):
    # The volunteer joined earlier on this phone (the page logs in with the phone's own code).
    device = f"h5-{uuid.uuid4()}"
    worker = steps.join(journey, place, scan=False, login_code=device)
    station = place.station
    group = until(
        lambda: journey.admin.post(
            journey.url(f"/api/v1/stations/{station['id']}/duty-groups"),
            json={"name": "页面值班组", "member_ids": [worker.member_id]},
            timeout=10,
        ),
        lambda r: r.status_code == 201,
        "stations learning of the new member",
    ).json()
    monday = datetime.now(SHANGHAI).date() - timedelta(days=datetime.now(SHANGHAI).weekday())
    journey.created(
        journey.admin,
        f"/api/v1/stations/{station['id']}/rota",
        # Two weeks: a test running over Sunday midnight still finds the volunteer on the rota.
        {"start": monday.isoformat(), "weeks": 2, "group_ids": [group["id"]]},
    )
    station_code = qr(journey.admin.get(journey.url(f"/api/v1/stations/{station['id']}/qr.png"), timeout=10))

    browser.open("/app/")
    browser.driver.execute_script("localStorage.setItem('unionhub.device', arguments[0])", device)
    browser.expect_error("/api/v1/shifts/me", 404)  # off duty: the page offers the check-in
    # Only coordinators may list what was left behind; the page asks, and shows it if answered.
    browser.expect_error(f"/api/v1/stations/{station['id']}/lockers/left-behind", 403)
    browser.open("/app/duty")
    browser.visible("#checkin-form")
    assert browser.find("#use_location").is_selected()
    browser.usable(phone=True)

    # Too far from the station: refused, and still off duty.
    browser.locate(*FAR)
    browser.type("#station_code", station_code)
    browser.expect_error("/api/v1/shifts/checkin", 403)
    browser.tap("#checkin-submit")
    browser.text("#notice", "200")  # stations says how near the volunteer must be, in metres
    assert browser.find("#checkin-form").is_displayed()
    assert worker.session.get(journey.url("/api/v1/shifts/me"), timeout=10).status_code == 404

    # At the station: on duty, and the station is open.
    browser.locate(*NEAR)
    browser.type("#station_code", station_code)
    browser.tap("#checkin-submit")
    browser.text("#station-name", f"夷新驿站{journey.suffix}")  # journey.set_up names it
    assert not browser.find("#checkin").is_displayed()
    assert not browser.find("#notice").is_displayed()
    assert not browser.find("#overdue").is_displayed()  # a volunteer is not a coordinator
    live = journey.admin.get(journey.url(f"/api/v1/stations/{station['id']}"), timeout=10).json()["live"]
    assert live["status"] == "open"

    # A duty-log entry: the AC switched on.
    browser.pick("#kind", "ac")
    browser.pick("#value", "on")
    browser.tap("#log-submit")
    browser.text("#log-entries", "空调 · 开")
    shift = worker.session.get(journey.url("/api/v1/shifts/me"), timeout=10).json()
    assert [(e["kind"], e["value"]) for e in shift["log"]] == [("ac", "on")]

    # A deposit in any free locker: the pickup code is shown; the code hands the things back.
    browser.tap("#deposit-submit")
    deposited = browser.text("#deposit-result", "取件码").text
    pickup_code = deposited.rsplit("：", 1)[1]
    assert pickup_code.isdigit(), deposited
    browser.type("#pickup_code", pickup_code)
    browser.tap("#pickup-submit")
    browser.text("#pickup-result", "已从")
    browser.usable(phone=True)
    browser.snapshot("duty-on-duty")

    # Checking out closes the station (nobody else is on duty).
    browser.tap("#checkout")
    browser.text("#done", "已签退")
    assert not browser.find("#on-duty").is_displayed()
    assert worker.session.get(journey.url("/api/v1/shifts/me"), timeout=10).status_code == 404
    live = journey.admin.get(journey.url(f"/api/v1/stations/{station['id']}"), timeout=10).json()["live"]
    assert live["status"] == "closed"
