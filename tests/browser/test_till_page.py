"""Till staff at the counter: log in, pick the store, type the member's card code, see the offer for
the bill, confirm (a double tap is one sale), then reverse it from today's list."""

from __future__ import annotations

from selenium.webdriver.common.action_chains import ActionChains

from tests.e2e import journey as steps
from tests.e2e.journey import until
from tests.support import STAFF_PASSWORD


def test_a_till_sells_once_on_a_double_tap_and_reverses_the_sale(browser, journey, place):
    worker = steps.join(journey, place, scan=False)
    until(
        lambda: worker.session.get(journey.url("/api/v1/vouchers/me"), timeout=10),
        lambda r: r.status_code == 200,
        "merchants learning of the new member",
    )
    store_id = place.store["id"]
    till = journey.staff_session(place.till)

    browser.open("/app/till")
    browser.log_in(place.till, STAFF_PASSWORD)
    browser.visible("#sale-form")
    browser.pick("#store", store_id)
    browser.text("#today-rows", "暂无")  # nothing sold here today yet

    card = worker.session.get(journey.url("/api/v1/members/me/card/token"), timeout=10).json()["token"]
    browser.type("#card_token", card)
    browser.type("#amount", "15八")  # a slip on the keypad: said beside the bill, nothing asked
    browser.tap("#quote")
    assert "158.50" in browser.field_error("#sale-form", "amount_fen").text
    assert browser.find("#amount").get_attribute("aria-invalid") == "true"
    assert not browser.find("#quote-box").is_displayed()
    browser.type("#amount", "158")
    browser.tap("#quote")
    assert browser.text("#quote-offer", place.offer["title"])
    assert browser.find("#quote-discount").text == "10.00 元"
    assert browser.find("#quote-payable").text == "148.00 元"

    # A double tap on Confirm: the page sends the sale once (one Idempotency-Key for it anyway).
    ActionChains(browser.driver).double_click(browser.find("#confirm")).perform()
    browser.visible("#result")
    assert browser.find("#result-payable").text == "148.00 元"
    assert browser.find("#result-discount").text == "10.00 元"
    assert browser.find("#result-offer").text == place.offer["title"]
    sales = till.get(journey.url("/api/v1/redemptions"), params={"store_id": store_id}, timeout=10).json()
    assert [(s["amount_fen"], s["discount_fen"]) for s in sales] == [(15800, 1000)]
    (sale,) = sales

    # Today's list shows it; reversing asks first, then refunds it in full.
    reverse = browser.visible(f'#today-rows button[data-redemption="{sale["id"]}"]')
    assert "158.00" in browser.find("#today-rows").text
    reverse.click()
    browser.until(lambda d: d.switch_to.alert, "the confirmation dialog").accept()
    browser.text("#today-rows", "已撤销")
    sales = till.get(journey.url("/api/v1/redemptions"), params={"store_id": store_id}, timeout=10).json()
    assert [(s["id"], s["reversed_fen"]) for s in sales] == [(sale["id"], 15800)]

    # The next customer starts a clean sale.
    browser.tap("#next")
    browser.visible("#sale-form")
    assert browser.find("#card_token").get_attribute("value") == ""
    assert not browser.find("#quote-box").is_displayed()
