"""The pages: HTML in the chosen language, a strict CSP with no inline script, nothing loaded from
another origin, and the npm files they use served from the packages the scripts install."""

from __future__ import annotations

import json
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
        if asset.mimetype == "image/png":
            continue  # the pages' icon: an image loads nothing
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


def test_the_accessibility_checker_is_pinned_for_the_tests_only():
    """axe-core is a devDependency: installed by the scripts for the browser tier (tests/browser),
    left out of the image (npm ci --omit=dev), and never in the pages' allow-list."""
    root = Path(__file__).resolve().parents[3] / "deploy" / "web"
    package = json.loads((root / "package.json").read_text())
    lock = json.loads((root / "package-lock.json").read_text())

    assert "axe-core" in package["devDependencies"] and "axe-core" not in package["dependencies"]
    assert lock["packages"]["node_modules/axe-core"]["dev"] is True
    assert lock["packages"]["node_modules/axe-core"]["version"] == package["devDependencies"]["axe-core"]
    assert "axe-core" not in VENDOR
    assert "--omit=dev" in (root.parents[1] / "deploy" / "compose" / "Dockerfile").read_text()


SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"


def test_the_readme_shows_every_screenshot_at_phone_and_desktop_width():
    """The browser tier saves them (UNIONHUB_SCREENSHOTS=docs/screenshots); the README shows each."""
    readme = (SCREENSHOTS.parents[1] / "README.md").read_text()
    shown = set(re.findall(r'src="docs/screenshots/([^"]+\.png)"', readme))
    saved = {file.name for file in SCREENSHOTS.glob("*.png")}

    assert shown == saved and saved, (shown, saved)
    for name in {file.rsplit("-", 1)[0] for file in saved}:
        assert {f"{name}-phone.png", f"{name}-desktop.png"} <= saved, name
    for file in SCREENSHOTS.glob("*.png"):
        data = file.read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) < 300_000, file.name


@pytest.mark.parametrize(
    "path",
    [
        "/app/vendor/jsqr/package.json",
        "/app/vendor/axe-core/axe.min.js",  # the browser tests' accessibility checker: theirs alone
        "/app/vendor/chart.js/dist/chart.js",
        "/app/vendor/swagger-ui-dist/index.html",
        "/app/vendor/jsqr/../chart.js/package.json",
        "/app/static/../api/pages.py",
        "/app/join/not%20a%20code",
        "/app/join/abc%0A",  # a final newline, which a pattern's $ lets through
    ],
)
def test_nothing_outside_the_allow_list_is_served(client, path):
    assert client.get(path).status_code == 404


def test_the_join_page_carries_its_code_and_whether_a_browser_may_log_in(make_app):
    local = make_app().test_client().get("/app/join/Ab3_x-9").get_data(as_text=True)
    cluster = make_app(device_login=False).test_client().get("/app/join/Ab3_x-9").get_data(as_text=True)

    assert 'data-code="Ab3_x-9"' in local and 'data-device-login="true"' in local
    assert 'data-device-login="false"' in cluster


# The console's forms: each posts to its service's API, with its fields' error slots named as the
# API names the fields, in both languages.
CONSOLE_FORMS = {
    "term-form": ["name", "branch_id", "booking_opens_at", "booking_closes_at", "starts_on", "ends_on"],
    "course-form": [
        "term_id",
        "title",
        "capacity",
        "schedule.weekdays",
        "schedule.start",
        "schedule.minutes",
    ],
    "merchant-form": ["name", "category", "branch_id", "union_share_percent", "budget_kind", "budget_total"],
    "store-form": ["merchant_id", "name", "address", "lat", "lng", "opens_at", "closes_at"],
    "offer-form": [
        "merchant_id",
        "title",
        "kind",
        "steps",
        "percent_off",
        "cap_fen",
        "fixed_fen",
        "starts_at",
    ],
    "station-form": ["name", "address", "lat", "lng", "branch_id", "amenities", "opening_hours", "lockers"],
    "group-form": ["station_id", "name", "member_ids"],
    "rota-form": ["station_id", "start", "weeks"],
}


@pytest.mark.parametrize(
    ("lang", "texts"),
    [
        (
            "zh-CN",
            [
                "新建学期",
                "新建课程",
                "周三",
                "瑜伽",
                "发布",
                "新建商户",
                "新建门店",
                "满减",
                "新建驿站",
                "饮用水",
                "新建值班小组",
                "排班",
            ],
        ),
        (
            "en",
            [
                "New term",
                "New course",
                "Wed",
                "Yoga",
                "Publish",
                "New merchant",
                "New store",
                "Spend and save",
                "New station",
                "Drinking water",
                "New duty group",
                "Plan the rota",
            ],
        ),
    ],
)
def test_the_console_has_the_forms_of_each_service_in_the_chosen_language(client, lang, texts):
    html = client.get(f"/app/admin?lang={lang}").get_data(as_text=True)

    for form, fields in CONSOLE_FORMS.items():
        assert f'<form id="{form}" class="panel" novalidate>' in html, form
        part = html[html.index(f'<form id="{form}"') :]
        part = part[: part.index("</form>")]
        for field in fields:
            assert f'data-error-for="{field}"' in part, (form, field)
        for label in re.findall(r'<label for="([^"]+)"', part):
            assert f'id="{label}"' in part, (form, label)
    for text in texts:
        assert text in html, (lang, text)
    # the JS's strings carry the ones it writes itself (the drafts' note, the publish button)
    strings = html[html.index('id="strings">') :]
    assert (
        '"admin.draft_made"' in strings and '"admin.publish"' in strings and '"admin.pick_first"' in strings
    )


def test_every_string_has_both_languages_and_every_key_the_console_uses_exists(client):
    from services.web.strings import STRINGS

    assert all(len(pair) == 2 and all(pair) for pair in STRINGS.values())
    template = (Path(__file__).resolve().parents[3] / "services/web/templates/admin.html").read_text()
    js = client.get("/app/static/admin.js").get_data(as_text=True)
    used = set(re.findall(r't\["([a-z_.0-9]+)"\]', template)) | set(re.findall(r'\bt\("([a-z_.0-9]+)"', js))
    prefixes = {"course.cat.", "weekday.", "amenity."}  # built from a loop in the template
    missing = {key for key in used if key not in STRINGS and key not in prefixes}
    assert not missing, missing
    for prefix in prefixes:
        assert sum(key.startswith(prefix) for key in STRINGS) >= 7, prefix


def test_a_key_two_pages_define_is_refused_not_silently_replaced():
    from services.web import strings

    class One:
        STRINGS = {"busy": ("忙", "Busy")}

    with pytest.raises(ValueError, match="busy"):
        strings._merged(strings.shared, One)


def test_the_console_module_posts_each_form_to_its_api(client):
    js = client.get("/app/static/admin.js")

    assert js.status_code == 200 and js.mimetype == "text/javascript"
    text = js.get_data(as_text=True)
    for call in [
        '"/api/v1/terms"',
        '"/api/v1/courses"',
        "/api/v1/courses/${encodeURIComponent(draft.id)}/publish",
        '"/api/v1/merchants"',
        "/stores`",
        '"/api/v1/offers"',
        '"/api/v1/stations"',
        "/duty-groups`",
        "/rota`",
    ]:
        assert call in text, call
    for form in CONSOLE_FORMS:
        assert f'$("#{form}")' in text, form
