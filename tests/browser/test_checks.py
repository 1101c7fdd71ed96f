"""The checks every browser test ends with can fail: a refused inline script and a request off this
machine are both reported (so a page that had either would not pass unnoticed)."""

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
