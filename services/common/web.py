"""The app factory every service builds on: settings, database, Redis, auth, errors, health, OpenAPI."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import Flask
from flask_smorest import Api

from .auth import TokenVerifier
from .config import Settings
from .db import Database
from .errors import register_error_handlers
from .health import health
from .observability import configure_logging, install_request_context


@dataclass
class ServiceContext:
    """What a service's views need, hung on ``app.extensions["unionhub"]``."""

    settings: Settings
    db: Database
    redis: redis.Redis
    verifier: TokenVerifier


def create_service_app(
    settings: Settings,
    db: Database,
    verifier: TokenVerifier,
    *,
    title: str,
    blueprints: list,
    config: dict | None = None,
) -> Flask:
    configure_logging(settings.service, settings.log_level)
    app = Flask(f"services.{settings.service}")
    app.config.update(
        API_TITLE=title,
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        MAX_CONTENT_LENGTH=64 * 1024,
        API_SPEC_OPTIONS={
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            },
        },
    )
    app.config.update(config or {})
    app.json.ensure_ascii = False  # readable Chinese in responses
    app.json.sort_keys = False

    app.extensions["unionhub"] = ServiceContext(
        settings=settings,
        db=db,
        redis=redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2),
        verifier=verifier,
    )
    api = Api(app)
    register_error_handlers(app)  # after Api(), which installs handlers of its own
    install_request_context(app, settings.service)
    app.register_blueprint(health)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    return app
