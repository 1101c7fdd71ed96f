"""A worker scans a campaign poster with the phone's camera: the H5 join page, in a phone's viewport,
from the poster's URL to the member card whose QR renews itself before it expires."""

from __future__ import annotations

import re
import time
import uuid

from tests.e2e.journey import qr
from tests.e2e.test_enrolment_gateway import sms_code
from tests.support import decode_qr, unique_resident_id

HAN = re.compile(r"[\u4e00-\u9fff]")
BAD_ID = "52010219900307001X"  # a wrong check digit


def fill_join_form(browser, *, mobile: str, sms: str | None, id_number: str) -> None:
    browser.type("#name", "赵六")
    browser.type("#mobile", mobile)
    if sms is not None:
        browser.type("#sms_code", sms)
    browser.type("#id_number", id_number)
    browser.type("#employer", "美团")
    browser.type("#occupation", "骑手")
    consent = browser.find("#consent")
    if not consent.is_selected():
        consent.click()


def test_a_worker_joins_from_the_poster_and_gets_a_card_whose_qr_renews(browser, journey, place):
    # The poster's QR, read as a phone camera reads it, opens the page (303 from the JSON URL).
    join_url = qr(
        journey.admin.get(journey.url(f"/api/v1/campaigns/{place.campaign['id']}/qr.png"), timeout=10)
    )
    browser.driver.get(join_url)
    assert browser.driver.current_url.endswith(f"/app/join/{place.campaign['code']}")
    assert browser.find("html").get_attribute("lang") == "zh-CN"
    assert browser.text("#branch-name", place.branch["name"])
    assert browser.text("#campaign-name", place.campaign["name"])
    assert not browser.find("#campaign-approval").is_displayed()

    # The SMS code, then a wrong ID number: the API's message, in Chinese, right under its field.
    mobile = f"137{uuid.uuid4().int % 10**8:08d}"
    browser.visible("#join-form")
    browser.usable(phone=True)
    browser.snapshot("join-form")
    browser.type("#mobile", mobile)
    browser.tap("#send-code")
    assert HAN.search(browser.visible("#code-sent").text)
    code = sms_code(journey.gateway, mobile)
    fill_join_form(browser, mobile=mobile, sms=code, id_number=BAD_ID)
    browser.expect_error("/api/v1/join", 422)
    browser.tap("#join-submit")
    error = browser.field_error("#join-form", "id_number")
    assert HAN.search(error.text), error.text
    assert browser.find("#id_number").get_attribute("aria-invalid") == "true"
    browser.usable(phone=True)  # the form with its errors shown
    assert browser.find("#card").is_displayed() is False  # nothing changed: no member, no card

    # Switching to English keeps the login; the same mistake now reads in English, then the join.
    browser.tap("a.lang")
    browser.text("h1", "Join the union")
    assert browser.find("html").get_attribute("lang") == "en"
    browser.text("#branch-name", place.branch["name"])
    browser.visible("#join-form")
    fill_join_form(browser, mobile=mobile, sms=code, id_number=BAD_ID)
    browser.tap("#join-submit")
    error = browser.field_error("#join-form", "id_number")
    assert re.search(r"[A-Za-z]{3}", error.text) and not HAN.search(error.text), error.text
    browser.type("#id_number", unique_resident_id())
    browser.tap("#join-submit")

    # The member card: its number, active, and the rotating code drawn as a QR a till can scan.
    browser.visible("#card")
    members = journey.admin.get(
        journey.url("/api/v1/members"), params={"branch_id": place.branch["id"]}, timeout=10
    ).json()["items"]
    (member,) = [m for m in members if m["card_no"] == browser.find("#card-no").text]
    assert member["status"] == "active" and browser.find("#card-status").text == "Active"
    assert not browser.find("#join").is_displayed()
    browser.usable(phone=True)
    first = read_card_qr(browser)
    drawn_at = time.monotonic()
    countdown = int(re.search(r"\d+", browser.text("#card-expires", "Renews in").text)[0])
    # Card codes live card_token_ttl (60 s in every deployment's config): the page renews 10 s early.
    assert 40 <= countdown <= 50, countdown

    browser.until(lambda _: (text := read_card_qr(browser)) != first and text, "a new card code", seconds=65)
    assert time.monotonic() - drawn_at < 60  # before the first code expired

    # The same phone opening the poster again comes back to its card (in Chinese: the switch was
    # for that one page).
    browser.driver.get(join_url)
    browser.text("#card-no", member["card_no"])
    assert not browser.find("#join").is_displayed()
    browser.until(lambda _: browser.find("#card-qr").get_attribute("data-token"), "the card's QR drawn")
    browser.snapshot("join-card")

    # Left open past its token's 15 minutes (refused now, as a lapsed one is), the page logs in
    # again by itself and the card comes back: it used to stay on "session expired" for good.
    browser.expect_error("/api/v1/members/me", 401)
    browser.driver.execute_script(
        "const saved = JSON.parse(sessionStorage.getItem('unionhub.member'));"
        "sessionStorage.setItem('unionhub.member', JSON.stringify({...saved, token: 'lapsed'}));"
    )
    browser.driver.refresh()
    browser.text("#card-no", member["card_no"])
    browser.until(lambda _: browser.find("#card-qr").get_attribute("data-token"), "the card's QR drawn again")


def test_a_revoked_campaign_says_so_and_offers_no_form(browser, journey, place):
    revoked = journey.admin.post(
        journey.url(f"/api/v1/campaigns/{place.campaign['id']}/revoke"), json={}, timeout=10
    )
    assert revoked.status_code == 200, revoked.text
    browser.expect_error(f"/api/v1/join/{place.campaign['code']}", 410)
    browser.open(f"/app/join/{place.campaign['code']}")
    browser.text("#notice", "失效")
    assert not browser.find("#campaign-facts").is_displayed()
    assert not browser.find("#join").is_displayed()
    assert not browser.find("#campaign-loading").is_displayed()


def read_card_qr(browser) -> str:
    """What a till's scanner reads off the phone's screen: the canvas as shown, decoded by zbar, and
    the same code the API gave the page (read around the screenshot, which a renewal may straddle)."""
    canvas = browser.visible("#card-qr")
    while True:
        given = canvas.get_attribute("data-token")
        (text,) = decode_qr(canvas.screenshot_as_png)
        if canvas.get_attribute("data-token") == given:
            assert text == given
            return text
