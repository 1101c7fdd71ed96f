"""The app factory every service builds on: settings, database, Redis, auth, errors, health, OpenAPI."""

from __future__ import annotations

import http
from dataclasses import dataclass

import marshmallow as ma
import redis
from flask import Flask, abort, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from .auth import TokenVerifier
from .config import Settings
from .db import Database
from .docs_assets import SWAGGER_UI_CONFIG, SWAGGER_UI_URL, docs_assets
from .errors import PROBLEM_JSON, register_error_handlers
from .health import health
from .moved_memberships import MovedMemberships
from .observability import configure_logging, install_request_context


class FieldErrorSchema(ma.Schema):
    field = ma.fields.String(metadata={"description": "the input at fault, dotted for nested fields"})
    code = ma.fields.String(metadata={"description": "a stable code for clients to match on"})
    message = ma.fields.String(metadata={"description": "text in the caller's language"})


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as services/common/errors.py answers every error."""

    class Meta:
        unknown = ma.INCLUDE  # extension members carry a problem's parameters (e.g. retry hints)

    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "a stable code for clients to match on"})
    detail = ma.fields.String()
    instance = ma.fields.String()
    request_id = ma.fields.String()
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema))


class ServiceApi(Api):
    """flask-smorest's Api, documenting error answers as what they are: problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        # flask-smorest documents its error responses with the content type of successes; ours
        # differ, so the same lazily registered responses are declared with problem+json.
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


@dataclass
class ServiceContext:
    """What a service's views need, hung on ``app.extensions["unionhub"]``."""

    settings: Settings
    db: Database
    redis: redis.Redis
    verifier: TokenVerifier
    # In a service keeping the projection of member events (views.caller_member_id).
    moved_memberships: MovedMemberships | None = None


def _moved_memberships(db: Database) -> MovedMemberships | None:
    projections = [t for t in db.metadata.tables.values() if t.info.get("member_projection")]
    return MovedMemberships(db.engine, projections[0]) if projections else None


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
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_URL,
        OPENAPI_SWAGGER_UI_CONFIG=SWAGGER_UI_CONFIG,
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
        moved_memberships=_moved_memberships(db),
    )
    api = ServiceApi(app)
    register_error_handlers(app)  # after Api(), which installs handlers of its own
    install_request_context(app, settings.service)

    @app.url_value_preprocessor
    def _nothing_named_with_nul(_endpoint, values):
        # PostgreSQL's text cannot hold U+0000 (SQLite's can): no id or code of ours has one, and
        # looked up, it would fail the statement (a 500). So it names nothing: 404.
        if values and any(isinstance(value, str) and "\x00" in value for value in values.values()):
            abort(404)

    @app.after_request
    def _not_cached(response):
        # An API answer is its caller's (a token, a card code, a list scoped to an admin's subtree) or
        # changes by the second: no browser or proxy keeps a copy unless its view says one may.
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.register_blueprint(health)
    app.register_blueprint(docs_assets)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    return app
