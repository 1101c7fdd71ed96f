"""swagger-ui's JS and CSS for each service's /docs, served by the service itself: no CDN.

They come from the npm package swagger-ui-dist, which deploy/local/web_assets.sh (and the image's
build) install under deploy/web/node_modules. The docs page names them and openapi.json relatively,
so /docs works directly and behind the gateway's /svc/<service>/ prefix alike.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Blueprint, abort, send_from_directory

from .config import REPO_ROOT

# Relative to the /docs page: /docs/assets/, or /svc/<service>/docs/assets/ through the gateway.
SWAGGER_UI_URL = "docs/assets/"
SWAGGER_UI_CONFIG = {"url": "openapi.json"}


def swagger_ui_dir() -> Path:
    modules = Path(os.environ.get("UNIONHUB_WEB_MODULES", REPO_ROOT / "deploy" / "web" / "node_modules"))
    return modules / "swagger-ui-dist"


docs_assets = Blueprint("docs_assets", __name__)


@docs_assets.get("/docs/assets/<path:name>")
def asset(name: str):
    directory = swagger_ui_dir()
    if not directory.is_dir():
        abort(404)  # not installed: deploy/local/web_assets.sh installs it
    return send_from_directory(directory, name, max_age=86400)
