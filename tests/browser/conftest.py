"""The browser tier: the pages' JavaScript run by a real headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium through /usr/bin/chromedriver) against the RUNNING system,
through the gateway, as the people who use them would (docs/web.md, "Tests in a real browser").

Every test gets a fresh browser with an empty profile, and when it ends, the browser must have seen
no console error the test did not expect (a script error, a refused CSP load, a failed request)
and no request to anywhere but 127.0.0.1.

The tests also save screenshots of the pages at phone and desktop size, as they reach the states
worth showing; with UNIONHUB_SCREENSHOTS=docs/screenshots they refresh the ones the README shows,
otherwise they go to a temporary directory (checked all the same: right size, small enough).

Without the browser (`bash deploy/local/browser.sh` installs it) or the system
(`bash deploy/local/up.sh`), these tests are skipped, or fail under UNIONHUB_REQUIRE_INFRA=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.browser.page import FLAGS, PHONE, Browser
from tests.e2e.conftest import admin, gateway  # noqa: F401  (fixtures: the running system's)
from tests.e2e.journey import Journey, Place, set_up
from tests.support import infra_missing

CHROMIUM = os.environ.get("UNIONHUB_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("UNIONHUB_CHROMEDRIVER", "/usr/bin/chromedriver")
INSTALL_BROWSER = "install it with `bash deploy/local/browser.sh`"


@pytest.fixture(scope="session")
def chromium() -> None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            infra_missing(f"{path} is not installed", hint=INSTALL_BROWSER)


@pytest.fixture
def browser(chromium, gateway, tmp_path):  # noqa: F811  (gateway is the fixture imported above)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")  # a fresh profile: no state
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # The driver is named, so Selenium Manager never looks for (or downloads) one of its own.
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    shots = Path(os.environ.get("UNIONHUB_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    page = Browser(driver, gateway, shots)
    # Chart.js then draws at once instead of animating for a second: the charts a test reads or a
    # screenshot shows are the finished ones (the console honours the setting: admin.js).
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]}
    )
    page.viewport(PHONE)
    try:
        yield page
        problems = page.problems()
    finally:
        driver.quit()
    assert not problems, "\n".join(problems)


@pytest.fixture
def journey(gateway, admin) -> Journey:  # noqa: F811
    return Journey(gateway, admin)


@pytest.fixture
def place(journey) -> Place:
    """A branch with its campaign, a term with a course, a merchant with a store, offer and till, and
    a station: each test's own, so the tests run alone or in any order."""
    return set_up(journey)
