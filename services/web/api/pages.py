"""The pages, their JS and CSS, and the npm files they load: everything under /app/ at the gateway.

Pages are templates with their text in the chosen language; what they show comes from the services'
APIs, which the pages' JS calls from the browser with the user's token (docs/web.md). Nothing here
reads a database or holds a session.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from flask import abort, current_app, render_template, request, send_from_directory
from flask_smorest import Blueprint

from services.common.config import REPO_ROOT

from .. import strings

WEB = Path(__file__).resolve().parents[1]
STATIC = WEB / "static"

blp = Blueprint(
    "pages",
    __name__,
    url_prefix="/app",
    description="Web pages: the H5 join page, the till, the station duty page, the admin console",
    template_folder=str(WEB / "templates"),
)

# The npm files a page may load, each one named: node_modules holds far more (package.json files,
# sources, maps) that nobody needs to fetch. Installed by deploy/local/web_assets.sh from
# deploy/web/package-lock.json, and by the image's build.
VENDOR = {
    "qrcode-generator": ("dist/qrcode.mjs",),  # draws the member card's QR
    "jsqr": ("dist/jsQR.js",),  # reads a QR from camera frames where BarcodeDetector is missing
    "chart.js": ("dist/chart.umd.min.js",),  # the console's charts
}

# No inline script or style anywhere, nothing from another origin; camera and location for the
# pages that scan and check in, nothing else.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; media-src 'self' blob:; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a join code or a station code in the URL stays here
    "Permissions-Policy": "camera=(self), geolocation=(self), microphone=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Campaign codes are short URL-safe strings (enrolment's JoinIn caps them at 40).
CODE = re.compile(r"^[A-Za-z0-9_~.-]{1,40}$")
PAGES = ("join", "till", "duty", "admin")


def _serves(content_type: str, what: str):
    """Tell the OpenAPI document what a route answers (it has no marshmallow schema to say it)."""
    return blp.doc(
        responses={"200": {"description": what, "content": {content_type: {"schema": {"type": "string"}}}}}
    )


HTML = _serves("text/html", "the page")


def web_modules() -> Path:
    return Path(os.environ.get("UNIONHUB_WEB_MODULES", REPO_ROOT / "deploy" / "web" / "node_modules"))


@blp.after_app_request
def _headers(response):
    if request.path.startswith("/app/"):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def _page(page: str, **data):
    lang = strings.language(request.args.get("lang"), request.accept_languages)
    other = "en" if lang == "zh-CN" else "zh-CN"
    html = render_template(
        f"{page}.html",
        page=page,
        lang=lang,
        t=strings.table(lang),
        switch_url=f"{request.path}?lang={other}",
        device_login=current_app.extensions["web"].device_login,
        **data,
    )
    # Pages carry no personal data (that arrives by the JS's API calls), but a shared phone's back
    # button must not show a previous user's screen either: nothing is cached.
    return (
        html,
        200,
        {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Language": lang,
            "Cache-Control": "no-store",
            "Vary": "Accept-Language",
        },
    )


@blp.route("/")
@HTML
def index():
    """The list of pages"""
    return _page("index")


@blp.route("/join/<code>")
@HTML
def join(code: str):
    """The H5 join page a campaign's poster leads a phone browser to"""
    if not CODE.fullmatch(code):  # match's $ would take a final newline
        abort(404)
    return _page("join", code=code)


@blp.route("/till")
@HTML
def till():
    """The till page: log in, pick the store, scan the card, confirm the sale"""
    return _page("till")


@blp.route("/duty")
@HTML
def duty():
    """The station duty page: check in with the station QR, log duty, lockers, check out"""
    return _page("duty")


@blp.route("/admin")
@HTML
def admin():
    """The admin console, with charts"""
    return _page("admin")


@blp.route("/static/<path:name>")
@_serves("text/javascript", "a JS module or a stylesheet of the pages")
def static(name: str):
    """The pages' own JS and CSS"""
    return send_from_directory(STATIC, name, max_age=300, mimetype=_mimetype(name))


@blp.route("/vendor/<package>/<path:name>")
@_serves("text/javascript", "a file of an npm package the pages load")
def vendor(package: str, name: str):
    """A file of an npm package the pages load (an allow-list of files)"""
    if name not in VENDOR.get(package, ()):
        abort(404)
    directory = web_modules() / package
    if not (directory / name).is_file():
        abort(404)  # not installed: deploy/local/web_assets.sh installs it
    return send_from_directory(directory, name, max_age=86400, mimetype=_mimetype(name))


def _mimetype(name: str) -> str | None:
    # A module script with any other type is refused by the browser, and Python's table does not
    # know .mjs everywhere.
    if name.endswith((".js", ".mjs")):
        return "text/javascript"
    return None
