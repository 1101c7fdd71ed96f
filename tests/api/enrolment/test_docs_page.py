"""/docs loads swagger-ui from the service itself, never from a CDN (users and CI have none)."""

from __future__ import annotations

import re

from services.common.docs_assets import swagger_ui_dir
from tests.support import infra_missing


def test_the_docs_page_names_only_its_own_assets_and_spec(client):
    page = client.get("/docs").get_data(as_text=True)

    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(not re.match(r"(https?:)?//", s) for s in sources), sources
    assert '{"url": "openapi.json"}' in page  # relative: also right behind /svc/<service>/


def test_swagger_ui_is_served_from_the_npm_package_the_scripts_install(client):
    if not (swagger_ui_dir() / "swagger-ui-bundle.js").exists():
        infra_missing(
            f"swagger-ui-dist is not installed in {swagger_ui_dir()}", hint="run deploy/local/up.sh"
        )
    page = client.get("/docs").get_data(as_text=True)
    for name in re.findall(r'(?:src|href)="docs/assets/([^"]+)"', page):
        asset = client.get(f"/docs/assets/{name}")
        assert asset.status_code == 200 and len(asset.data) > 1000, name
    assert client.get("/docs/assets/../package.json").status_code == 404
