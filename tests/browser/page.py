"""One Chromium tab driven as a person holds it, for the browser tier (tests/browser/conftest.py
starts it): open a page, tap, type, read what it shows, and what the browser saw meanwhile."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import Select, WebDriverWait

# The network here is closed: without these, Chromium waits on Google's hosts (updates, sync, field
# trials, QUIC probes) and a test hangs. The resolver rule makes any other host fail at once, and
# the check after each test still reports the attempt.
FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container has no user namespaces for the sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--lang=zh-CN",  # a worker's phone in China: the pages answer in zh-CN unless switched
)
PHONE = {"width": 360, "height": 780, "deviceScaleFactor": 2, "mobile": True}
DESKTOP = {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False}
WAIT = 15  # seconds for a page to answer a tap (API calls through the gateway, Kafka not involved)

# "http://127.0.0.1:8000/api/v1/join - Failed to load resource: the server responded with a status
# of 422 (Unprocessable Content)": how Chromium logs an answer the page asked for and got as an error.
FAILED_LOAD = re.compile(r"^(\S+) - Failed to load resource: the server responded with a status of (\d+)")


class Browser:
    """One Chromium tab, as a person holds it: open a page, tap, type, read what it shows."""

    def __init__(self, driver: webdriver.Chrome, gateway: str):
        self.driver = driver
        self.gateway = gateway
        self.expected: list[tuple[str, int]] = []  # (API path, status) the test expects an error for
        self.console: list[dict] = []
        self.requests: list[str] = []

    # --- the device ---------------------------------------------------------------------------------
    def viewport(self, metrics: dict) -> None:
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        self.driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": metrics["mobile"]})

    def locate(self, lat: float, lng: float) -> None:
        """The phone is at (lat, lng) and the page may ask where it is."""
        self.driver.execute_cdp_cmd(
            "Browser.grantPermissions", {"origin": self.gateway, "permissions": ["geolocation"]}
        )
        self.driver.execute_cdp_cmd(
            "Emulation.setGeolocationOverride", {"latitude": lat, "longitude": lng, "accuracy": 20}
        )

    # --- looking and tapping ------------------------------------------------------------------------
    def open(self, path: str) -> None:
        self.driver.get(f"{self.gateway}{path}")

    def until(self, condition, what: str, seconds: float = WAIT):
        try:
            return WebDriverWait(self.driver, seconds, poll_frequency=0.1).until(condition)
        except TimeoutException:
            notice = self.driver.find_elements(By.ID, "notice")
            shown = notice[0].text if notice and notice[0].is_displayed() else ""
            raise AssertionError(f"{what}: not within {seconds} s (the page's notice: {shown!r})") from None

    def visible(self, css: str, seconds: float = WAIT) -> WebElement:
        return self.until(seen.visibility_of_element_located((By.CSS_SELECTOR, css)), f"{css} shown", seconds)

    def hidden(self, css: str) -> None:
        self.until(seen.invisibility_of_element_located((By.CSS_SELECTOR, css)), f"{css} hidden")

    def text(self, css: str, contains: str) -> WebElement:
        self.until(
            seen.text_to_be_present_in_element((By.CSS_SELECTOR, css), contains), f"{contains!r} in {css}"
        )
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def type(self, css: str, text: str) -> None:
        field = self.visible(css)
        field.clear()
        field.send_keys(text)

    def tap(self, css: str) -> None:
        self.until(seen.element_to_be_clickable((By.CSS_SELECTOR, css)), f"{css} enabled").click()

    def pick(self, css: str, value: str) -> None:
        Select(self.visible(css)).select_by_value(value)

    def field_error(self, form: str, field: str) -> WebElement:
        """The error the page shows for ``field``, which must sit right under that field's input (the
        nearest form control before it, at most a line of text above it)."""
        slot = self.visible(f'{form} [data-error-for="{field}"]')
        assert slot.text, f"no message under {field}"
        gap = self.driver.execute_script(
            """
            const slot = arguments[0];
            const fields = "input, select, textarea";
            for (let node = slot.previousElementSibling; node; node = node.previousElementSibling) {
              const control = node.matches(fields) ? node : node.querySelector(fields);
              if (control) return slot.getBoundingClientRect().top - control.getBoundingClientRect().bottom;
            }
            return null;
            """,
            slot,
        )
        assert gap is not None and 0 <= gap <= 30, f"the message for {field} is {gap} px under its field"
        return slot

    def log_in(self, username: str, password: str) -> None:
        self.type("#login-username", username)
        self.type("#login-password", password)
        self.tap("#login-form button[type=submit]")
        self.hidden("#login")

    def expect_error(self, path: str, status: int) -> None:
        """The page is about to get ``status`` from ``path`` (an API answer it shows, not a failure)."""
        self.expected.append((path, status))

    def drawn(self, css: str) -> bool:
        """Whether the canvas holds any pixel that is neither transparent nor white (read as the page
        itself can: the canvas is drawn by our origin's script, so it is not tainted)."""
        return self.driver.execute_script(
            """
            const canvas = document.querySelector(arguments[0]);
            if (!canvas || !canvas.width || !canvas.height) return false;
            const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            const ink = (i) => pixels[i + 3] && Math.min(pixels[i], pixels[i + 1], pixels[i + 2]) < 250;
            for (let i = 0; i < pixels.length; i += 4) if (ink(i)) return true;
            return false;
            """,
            css,
        )

    # --- what the browser saw -----------------------------------------------------------------------
    def collect(self) -> None:
        """Drain Chromium's logs (each read empties them): console messages and every request sent."""
        self.console += self.driver.get_log("browser")
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])

    def problems(self) -> list[str]:
        """What went wrong since the last call: console errors the test did not expect (CSP
        violations among them) and requests to anywhere but this machine."""
        self.collect()
        found = []
        for entry in self.console:
            if entry["level"] != "SEVERE":
                continue
            failed = FAILED_LOAD.match(entry["message"])
            if failed and any(
                urlsplit(failed[1]).path.startswith(path) and int(failed[2]) == status
                for path, status in self.expected
            ):
                continue
            kind = "CSP violation" if "Content Security Policy" in entry["message"] else "console error"
            found.append(f"{kind}: {entry['message']}")
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1":
                found.append(f"request off this machine: {url}")
        self.console, self.requests = [], []
        return found
