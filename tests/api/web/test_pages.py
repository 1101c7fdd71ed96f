"""The pages: HTML in the chosen language, a strict CSP with no inline script, nothing loaded from
another origin, and the npm files they use served from the packages the scripts install."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from services.web.api.pages import VENDOR, web_modules
from tests.support import infra_missing

PAGES = ["/app/", "/app/join/Ab3_x-9", "/app/till", "/app/duty", "/app/admin"]
# An absolute URL anywhere in our own files: the pages call the APIs on their own origin only.
ABSOLUTE = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# In the npm files, only what would make a browser fetch counts (their licence comments and the
# SVG namespace name URLs that are never loaded).
LOADS = re.compile(
    r"""(?:\bimport\s*(?:[^'"]*\bfrom\s*)?|\bimport\(\s*|\bsrc\s*=\s*|url\(\s*)['"]?(?:https?:)?//"""
)


def assets_of(html: str) -> list[str]:
    return re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)


def imports_of(js: str) -> list[str]:
    return re.findall(r'from\s+"([^"]+)"', js)


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_html_in_chinese_by_default_with_a_switch_to_english(client, path):
    page = client.get(path)

    assert page.status_code == 200
    assert page.mimetype == "text/html" and page.mimetype_params["charset"] == "utf-8"
    html = page.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and page.headers["Content-Language"] == "zh-CN"
    assert f'href="{path}?lang=en"' in html and ">English<" in html
    assert page.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", PAGES)
def test_the_switch_and_the_browsers_language_choose_english(client, path):
    switched = client.get(f"{path}?lang=en").get_data(as_text=True)
    by_browser = client.get(path, headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    back = client.get(f"{path}?lang=zh-CN", headers={"Accept-Language": "en"}).get_data(as_text=True)

    for html in (switched, by_browser):
        assert '<html lang="en">' in html and f'href="{path}?lang=zh-CN"' in html and ">中文<" in html
        assert '"app.name": "UnionHub"' in html  # the JS's strings follow the page's language
    assert '<html lang="zh-CN">' in back


def test_page_text_is_in_the_chosen_language(client):
    assert "会员优惠收银" in client.get("/app/till").get_data(as_text=True)
    assert "Member discount till" in client.get("/app/till?lang=en").get_data(as_text=True)
    assert "加入工会" in client.get("/app/join/abc").get_data(as_text=True)
    assert "Join the union" in client.get("/app/join/abc?lang=en").get_data(as_text=True)


@pytest.mark.parametrize("path", PAGES)
def test_pages_allow_no_inline_script_and_nothing_from_another_origin(client, path):
    page = client.get(path)
    csp = page.headers["Content-Security-Policy"]

    assert "script-src 'self';" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    html = page.get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert 'src="/app/' in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handlers run as inline script"
    assert not re.search(r"<style\b|\sstyle=", html)
    assert not ABSOLUTE.search(html), ABSOLUTE.search(html)


def test_every_page_asset_and_module_import_is_served_from_the_app(client):
    seen: set[str] = set()
    todo = [a for p in PAGES for a in assets_of(client.get(p).get_data(as_text=True))]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        assert path.startswith("/app/"), path
        if path.startswith("/app/vendor/"):
            continue  # checked against node_modules below
        asset = client.get(path)
        assert asset.status_code == 200, path
        text = asset.get_data(as_text=True)
        assert not ABSOLUTE.search(text), (path, ABSOLUTE.search(text))
        if path.endswith(".js"):
            assert asset.mimetype == "text/javascript"
            todo += imports_of(text)
        if path.endswith(".css"):
            assert asset.mimetype == "text/css"
    assert {"/app/static/app.js", "/app/static/app.css", "/app/static/join.js", "/app/static/till.js"} <= seen
    assert {f"/app/vendor/{pkg}/{name}" for pkg, names in VENDOR.items() for name in names} <= seen


def test_the_npm_files_are_served_as_the_packages_ship_them(client):
    modules = web_modules()
    for package, names in VENDOR.items():
        for name in names:
            file = Path(modules, package, name)
            if not file.is_file():
                infra_missing(f"{package} is not installed in {modules}", hint="run deploy/local/up.sh")
            served = client.get(f"/app/vendor/{package}/{name}")
            assert served.status_code == 200 and served.mimetype == "text/javascript"
            assert served.data == file.read_bytes()
            assert not LOADS.search(served.get_data(as_text=True)), (package, name)


def test_the_npm_packages_are_pinned_in_the_lockfile_the_scripts_install():
    root = Path(__file__).resolve().parents[3] / "deploy" / "web"
    lock = (root / "package-lock.json").read_text()
    for package in VENDOR:
        assert f'"node_modules/{package}"' in lock, package


@pytest.mark.parametrize(
    "path",
    [
        "/app/vendor/jsqr/package.json",
        "/app/vendor/chart.js/dist/chart.js",
        "/app/vendor/swagger-ui-dist/index.html",
        "/app/vendor/jsqr/../chart.js/package.json",
        "/app/static/../api/pages.py",
        "/app/join/not%20a%20code",
    ],
)
def test_nothing_outside_the_allow_list_is_served(client, path):
    assert client.get(path).status_code == 404


def test_the_join_page_carries_its_code_and_whether_a_browser_may_log_in(make_app):
    local = make_app().test_client().get("/app/join/Ab3_x-9").get_data(as_text=True)
    cluster = make_app(device_login=False).test_client().get("/app/join/Ab3_x-9").get_data(as_text=True)

    assert 'data-code="Ab3_x-9"' in local and 'data-device-login="true"' in local
    assert 'data-device-login="false"' in cluster
