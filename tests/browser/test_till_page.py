"""Till staff at the counter: log in, pick the store, type the member's card code, see the offer for
the bill and the member's vouchers, apply one, confirm (a double tap is one sale), then reverse it
from today's list, which gives the voucher back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from selenium.webdriver.common.action_chains import ActionChains

from tests.e2e import journey as steps
from tests.e2e.journey import until
from tests.support import STAFF_PASSWORD


def test_a_till_spends_a_voucher_once_on_a_double_tap_and_a_reversal_gives_it_back(browser, journey, place):
    worker = steps.join(journey, place, scan=False)
    mine = lambda: worker.session.get(journey.url("/api/v1/vouchers/me"), timeout=10)  # noqa: E731
    until(mine, lambda r: r.status_code == 200, "merchants learning of the new member")
    # The union thanks the member with a ¥10 voucher, spendable at any partner's till.
    voucher = journey.created(
        journey.admin,
        "/api/v1/vouchers",
        {
            "member_id": worker.member_id,
            "value_fen": 1000,
            "reason": "工会慰问",
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        },
        **{"Idempotency-Key": uuid.uuid4().hex},
    )
    store_id = place.store["id"]
    till = journey.staff_session(place.till)

    browser.open("/app/till")
    browser.visible("#login-form")
    browser.usable(phone=True)
    browser.log_in(place.till, STAFF_PASSWORD)
    browser.visible("#sale-form")
    browser.pick("#store", store_id)
    browser.text("#today-rows", "暂无")  # nothing sold here today yet
    browser.usable(phone=True)

    card = worker.session.get(journey.url("/api/v1/members/me/card/token"), timeout=10).json()["token"]
    browser.type("#card_token", card)
    browser.type("#amount", "15八")  # a slip on the keypad: said beside the bill, nothing asked
    browser.tap("#quote")
    assert "158.50" in browser.field_error("#sale-form", "amount_fen").text
    assert browser.find("#amount").get_attribute("aria-invalid") == "true"
    assert not browser.find("#quote-box").is_displayed()

    # The quote: the offer for the bill, and the member's voucher offered, not yet applied.
    browser.type("#amount", "158")
    browser.tap("#quote")
    assert browser.text("#quote-offer", place.offer["title"])
    assert browser.find("#quote-discount").text == "10.00 元"
    assert browser.find("#quote-payable").text == "148.00 元"
    assert not browser.find("#quote-voucher").is_displayed()
    assert "10.00 元 · 工会慰问" in browser.visible("#vouchers").text
    assert browser.find('#voucher-options input[value=""]').is_selected()  # none until picked

    # The member hands over the voucher: priced again with it, the offer first, then the voucher.
    browser.tap(f'#voucher-options input[value="{voucher["id"]}"]')
    browser.text("#quote-payable", "138.00 元")
    assert browser.find("#quote-discount").text == "10.00 元"
    assert browser.find("#quote-voucher").text == "10.00 元"
    assert browser.find(f'#voucher-options input[value="{voucher["id"]}"]').is_selected()
    browser.usable(phone=True)
    browser.snapshot("till-quote", focus="#quote-box")
    assert mine().json()["vouchers"][0]["status"] == "usable"  # a quote spends nothing

    # A double tap on Confirm: the page sends the sale once (one Idempotency-Key for it anyway).
    ActionChains(browser.driver).double_click(browser.find("#confirm")).perform()
    browser.visible("#result")
    assert browser.find("#result-payable").text == "138.00 元"
    assert browser.find("#result-discount").text == "10.00 元"
    assert browser.find("#result-voucher").text == "10.00 元"
    assert browser.find("#result-offer").text == place.offer["title"]
    sales = till.get(journey.url("/api/v1/redemptions"), params={"store_id": store_id}, timeout=10).json()
    assert [(s["amount_fen"], s["discount_fen"], s["voucher_fen"]) for s in sales] == [(15800, 2000, 1000)]
    (sale,) = sales
    assert mine().json()["vouchers"][0]["status"] == "used"

    # Today's list shows it with its voucher; reversing asks first, refunds it in full, and the
    # voucher is the member's to spend again.
    reverse = browser.visible(f'#today-rows button[data-redemption="{sale["id"]}"]')
    row = browser.find(f'#today-rows [data-redemption-row="{sale["id"]}"]').text
    assert "158.00" in row and "20.00" in row and "含代金券 10.00" in row, row
    browser.usable(phone=True)
    reverse.click()
    browser.until(lambda d: d.switch_to.alert, "the confirmation dialog").accept()
    browser.text("#today-rows", "已撤销")
    assert "代金券已退回" in browser.visible("#reversal-note").text
    sales = till.get(journey.url("/api/v1/redemptions"), params={"store_id": store_id}, timeout=10).json()
    assert [(s["id"], s["reversed_fen"]) for s in sales] == [(sale["id"], 15800)]
    assert mine().json()["vouchers"][0]["status"] == "usable"

    # The next customer starts a clean sale.
    browser.tap("#next")
    browser.visible("#sale-form")
    assert browser.find("#card_token").get_attribute("value") == ""
    assert not browser.find("#quote-box").is_displayed()
    assert not browser.find("#reversal-note").is_displayed()
