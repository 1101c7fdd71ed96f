"""The checks the browser tests make can fail: a refused inline script, a request off this machine
and a cookie are reported after every test, and axe-core and the phone check report an unlabelled
field, a button smaller than a finger and a page wider than the phone (so a page that had any of
them would not pass unnoticed)."""

from __future__ import annotations

from contextlib import suppress

from selenium.common.exceptions import WebDriverException


def test_a_csp_violation_and_a_request_off_this_machine_are_reported(browser):
    browser.open("/app/")
    assert browser.problems() == []
    browser.driver.execute_script(
        "const script = document.createElement('script');"
        "script.textContent = 'document.title = \"injected\"';"
        "document.head.append(script);"
    )
    problems = browser.problems()
    assert browser.driver.title != "injected"  # the CSP refused it
    assert len(problems) == 1 and problems[0].startswith("CSP violation:"), problems

    with suppress(WebDriverException):  # the name resolves nowhere here; the attempt still counts
        browser.driver.get("http://example.invalid/")
    assert "request off this machine: http://example.invalid/" in browser.problems()


def test_an_unlabelled_field_a_tiny_button_a_page_too_wide_and_a_cookie_are_reported(browser):
    browser.open("/app/")
    assert browser.accessibility() == [] and browser.small_targets() == [] and browser.too_wide() == []
    # Built with the DOM and the CSSOM, which the CSP allows (it refuses style attributes).
    browser.driver.execute_script(
        """
        const main = document.getElementById("main");
        main.append(document.createElement("input"));
        const tiny = document.createElement("button");
        tiny.textContent = "x";
        Object.assign(tiny.style, { minHeight: "0", height: "20px", padding: "0" });
        const wide = document.createElement("p");
        wide.textContent = "wide";
        wide.style.width = "600px";
        main.append(tiny, wide);
        document.cookie = "left=behind";
        """
    )
    assert any(found.startswith("label (") for found in browser.accessibility()), browser.accessibility()
    assert 'button "x" is 10×20 px' in browser.small_targets()
    (wide,) = browser.too_wide()
    assert wide.endswith("px wide on a 360 px screen"), wide
    assert "cookie set: left for 127.0.0.1" in browser.problems()
    browser.driver.delete_all_cookies()  # reported: the test's end need not report it again
