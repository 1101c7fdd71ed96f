"""One Chromium tab driven as a person holds it, for the browser tier (tests/browser/conftest.py
starts it): open a page, tap, type, read what it shows, and what the browser saw meanwhile."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import Select, WebDriverWait

from services.web.api.pages import web_modules
from tests.support import infra_missing

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
NODE_REPLACED = "does not belong to the document"
PHONE = {"width": 360, "height": 780, "deviceScaleFactor": 2, "mobile": True}
DESKTOP = {"width": 1366, "height": 900, "deviceScaleFactor": 1, "mobile": False}
# The screenshots under docs/screenshots/ (docs/web.md): a phone and a desktop, at one device pixel per
# CSS pixel so that the images are as wide as the pages were laid out and stay small.
SHOT_SIZES = {
    "phone": {"width": 360, "height": 780, "deviceScaleFactor": 1, "mobile": True},
    "desktop": {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False},
}
WAIT = 15  # seconds for a page to answer a tap (API calls through the gateway, Kafka not involved)

# "http://127.0.0.1:8000/api/v1/join - Failed to load resource: the server responded with a status
# of 422 (Unprocessable Content)": how Chromium logs an answer the page asked for and got as an error.
FAILED_LOAD = re.compile(r"^(\S+) - Failed to load resource: the server responded with a status of (\d+)")
# Answers that hand out a token: personal even though the request carries none yet.
LOGINS = ("/api/v1/auth/",)


# axe-core, a devDependency in deploy/web/package.json that the pages never serve: the test puts it
# on the page itself (WebDriver's scripts are the browser's, not the page's, so the CSP still holds
# the page to its own files).
AXE = "axe-core/axe.min.js"
SERIOUS = ("serious", "critical")
# A finger's width in CSS px: the issue asks for large touch targets on the phone pages.
TOUCH = 44
# A screenshot under docs/screenshots/ is committed: it must stay small.
SHOT_BYTES = 300_000


class Browser:
    """One Chromium tab, as a person holds it: open a page, tap, type, read what it shows."""

    def __init__(self, driver: webdriver.Chrome, gateway: str, shots: Path):
        self.driver = driver
        self.gateway = gateway
        self.shots = shots  # where snapshot() saves: docs/screenshots/ when asked, else a temporary one
        self.metrics: dict = {}
        self.expected: list[tuple[str, int]] = []  # (API path, status) the test expects an error for
        self.console: list[dict] = []
        self.requests: dict[str, dict] = {}  # request id → {url, authorized, cache_control, json}

    # --- the device ---------------------------------------------------------------------------------
    def viewport(self, metrics: dict) -> None:
        self.metrics = metrics
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
        def read_again_if_replaced(driver):
            try:
                return condition(driver)
            except WebDriverException as error:
                # Chromium answers a read of a node the page replaced meanwhile (re-rendering after a
                # reload) with this generic error, where selenium's conditions expect a stale
                # element: it is one, and is read again.
                if NODE_REPLACED in (error.msg or ""):
                    return False
                raise

        try:
            return WebDriverWait(self.driver, seconds, poll_frequency=0.1).until(read_again_if_replaced)
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

    def settled(self) -> None:
        """Waits for the web fonts and two animation frames: the layout (and Chart.js, which follows
        its box's size) has caught up with the last change of size or content."""
        self.driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            document.fonts.ready.then(() => requestAnimationFrame(() => requestAnimationFrame(() => done())));
            """
        )

    # --- accessibility and the phone ----------------------------------------------------------------
    def accessibility(self) -> list[str]:
        """The serious and critical violations axe-core finds on the page as it is shown now (hidden
        parts are not checked: each state a person sees is checked when the test reaches it)."""
        if not self.driver.execute_script("return Boolean(window.axe)"):
            axe = web_modules() / AXE
            if not axe.is_file():
                infra_missing(f"{axe} is not installed", hint="run deploy/local/up.sh (web_assets.sh)")
            self.driver.execute_script(axe.read_text())
        found = self.driver.execute_async_script(
            """
            const [serious, done] = arguments;
            axe.run(document, { resultTypes: ["violations"] }).then(
              (result) => done(result.violations.filter((v) => serious.includes(v.impact)).map((v) => ({
                id: v.id,
                help: v.help,
                nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
              }))),
              (error) => done([{ id: "axe failed", help: String(error), nodes: [] }]),
            );
            """,
            list(SERIOUS),
        )
        return [f"{v['id']} ({v['help']}): " + " | ".join(v["nodes"][:6]) for v in found]

    def small_targets(self) -> list[str]:
        """Controls shown now that a finger could miss, narrower or shorter than TOUCH (a checkbox or
        radio counts by its label, which takes the tap too)."""
        return self.driver.execute_script(
            """
            const least = arguments[0];
            const found = [];
            for (const control of document.querySelectorAll("a[href], button, input, select, textarea")) {
              const label = ["checkbox", "radio"].includes(control.type) && control.closest("label");
              const box = (label || control).getBoundingClientRect();
              if (!box.width && !box.height) continue; // not shown
              if (box.width < least || box.height < least) {
                const tag = control.tagName.toLowerCase();
                const name = control.id ? `#${control.id}` : `${tag} "${control.textContent.trim()}"`;
                found.push(`${name} is ${Math.round(box.width)}×${Math.round(box.height)} px`);
              }
            }
            return found;
            """,
            TOUCH,
        )

    def too_wide(self) -> list[str]:
        """The page, if it is wider than the screen (measured against the screen, not innerWidth: a
        phone zooms out to fit a page too wide for it)."""
        wide = self.driver.execute_script("return document.documentElement.scrollWidth")
        screen = self.metrics["width"]
        return [f"the page is {wide} px wide on a {screen} px screen"] if wide > screen else []

    def usable(self, *, phone: bool) -> None:
        """The page as shown now passes axe-core with nothing serious and fits the screen without
        sideways scrolling; on a phone, its targets are large enough for a finger."""
        problems = self.accessibility() + self.too_wide() + (self.small_targets() if phone else [])
        assert not problems, "\n".join(problems)

    # --- screenshots --------------------------------------------------------------------------------
    def snapshot(self, name: str, *, focus: str | None = None) -> None:
        """Saves the page as shown now at phone and at desktop size as <name>-phone.png and
        <name>-desktop.png (docs/screenshots/ shows them in the README), ``focus`` scrolled into
        view; then the tab has its own size back."""
        own = self.metrics
        for size, metrics in SHOT_SIZES.items():
            self.viewport(metrics)
            if focus:
                self.driver.execute_script(
                    "document.querySelector(arguments[0]).scrollIntoView({block: 'center'})", focus
                )
            else:
                self.driver.execute_script("scrollTo(0, 0)")
            self.settled()
            assert not self.too_wide(), (name, size, self.too_wide())
            png = self.driver.get_screenshot_as_png()
            width, height = struct.unpack(">II", png[16:24])  # the PNG's IHDR
            assert (width, height) == (metrics["width"], metrics["height"]), (name, size, width, height)
            assert len(png) < SHOT_BYTES, f"{name}-{size}.png is {len(png)} bytes"
            (self.shots / f"{name}-{size}.png").write_bytes(png)
        self.viewport(own)

    # --- what the browser saw -----------------------------------------------------------------------
    def collect(self) -> None:
        """Drain Chromium's logs (each read empties them): console messages, every request sent and
        the answers' caching."""
        self.console += self.driver.get_log("browser")
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message["method"] == "Network.requestWillBeSent":
                headers = {k.lower(): v for k, v in params["request"]["headers"].items()}
                self.requests[params["requestId"]] = {
                    "url": params["request"]["url"],
                    "authorized": "authorization" in headers,
                    "cache_control": None,
                    "json": False,
                }
            elif message["method"] == "Network.responseReceived" and params["requestId"] in self.requests:
                response = params["response"]
                headers = {k.lower(): v for k, v in response["headers"].items()}
                self.requests[params["requestId"]]["cache_control"] = headers.get("cache-control", "")
                self.requests[params["requestId"]]["json"] = "json" in response["mimeType"]

    def problems(self) -> list[str]:
        """What went wrong since the last call: console errors the test did not expect (CSP
        violations among them), requests to anywhere but this machine, an answer to a logged-in
        request or a login that a cache may keep, and any cookie at all (the pages hold their
        logins without one: docs/web.md)."""
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
        for request in self.requests.values():
            parts = urlsplit(request["url"])
            if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1":
                found.append(f"request off this machine: {request['url']}")
            # The data a logged-in person gets (a campaign's poster image, the same for everyone who
            # may see it, is not: enrolment lets the admin's browser keep it an hour).
            personal = request["json"] and (request["authorized"] or parts.path.startswith(LOGINS))
            cache = request["cache_control"]
            if personal and "no-store" not in cache:
                found.append(f"a cache may keep {parts.path}: Cache-Control {cache!r}")
        for cookie in self.driver.execute_cdp_cmd("Storage.getCookies", {})["cookies"]:
            found.append(f"cookie set: {cookie['name']} for {cookie['domain']}")
        self.console, self.requests = [], {}
        return found
