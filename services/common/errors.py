"""RFC 9457 problem+json for every error a service returns.

Each problem has a stable ``code``, a ``title`` and ``detail`` in the caller's language, and for
bad input an ``errors`` list with one entry per field: ``{field, code, message}``.
"""

from __future__ import annotations

import logging

import redis
from flask import Flask, Response, g, json, request
from sqlalchemy import exc as sql
from werkzeug.exceptions import HTTPException

from events.dispatch import database_down

from . import domain, i18n

log = logging.getLogger(__name__)

# How long a client waits before trying again when something we depend on does not answer: Redis
# or the database restarting, a provider's hiccup. Short, so a mini-app retries soon.
RETRY_AFTER_SECONDS = 5

# A dependency that is down: the request was not applied (its transaction rolled back) and may be
# tried again. Of the database's errors, those ``database_down`` names (unreachable, read-only after
# a failover); IntegrityError and the others are bugs or races, not outages.
_DEPENDENCY_DOWN = (redis.RedisError, sql.TimeoutError)

PROBLEM_JSON = "application/problem+json"

_STATUS_BY_ERROR = [
    (domain.NotFound, 404),
    (domain.Conflict, 409),
    (domain.Gone, 410),
    (domain.Forbidden, 403),
    (domain.Invalid, 422),
    (domain.RateLimited, 429),
    (domain.Unavailable, 503),
]

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    503: "service_unavailable",
}


class Problem(Exception):
    """Raise from a view for an error that is about HTTP rather than the domain (auth, headers)."""

    def __init__(self, status: int, code: str, *, headers: dict | None = None, **params):
        super().__init__(code)
        self.status = status
        self.code = code
        self.headers = headers or {}
        self.params = params


def language() -> str:
    return i18n.negotiate(request.headers.get("Accept-Language"))


def problem(
    status: int,
    code: str,
    *,
    errors: list[dict] | None = None,
    headers: dict | None = None,
    params: dict | None = None,
) -> Response:
    lang = language()
    generic = _CODE_BY_STATUS.get(status, "internal_error")
    body = {
        "type": "about:blank",
        "title": i18n.translate(generic, lang),
        "status": status,
        "code": code,
        "detail": i18n.translate(code, lang, **(params or {})),
        "instance": request.path,
    }
    request_id = getattr(g, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    for name, value in (params or {}).items():
        body.setdefault(name, value)  # RFC 9457 extension members, e.g. the branch of a duplicate join
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    response.headers["Content-Language"] = lang
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def field_errors(messages, lang: str, prefix: str = "") -> list[dict]:
    """Flatten marshmallow's nested messages into ``[{field, code, message}]``."""
    found = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            # webargs nests by location ("json", "query"); the location is not part of the field name.
            if not prefix and key in ("json", "query", "form", "headers", "files", "view_args", "path"):
                found += field_errors(value, lang, "")
                continue
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "_schema"
            found += field_errors(value, lang, name)
    elif isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict | list):
                found += field_errors(message, lang, prefix)
                continue
            code = i18n.code_for(str(message))
            found.append({"field": prefix, "code": code, "message": i18n.translate(code, lang, str(message))})
    else:
        code = i18n.code_for(str(messages))
        found.append({"field": prefix, "code": code, "message": i18n.translate(code, lang, str(messages))})
    return found


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(error: Problem):
        return problem(error.status, error.code, headers=error.headers, params=error.params)

    @app.errorhandler(domain.DomainError)
    def _domain(error: domain.DomainError):
        status = next((s for kind, s in _STATUS_BY_ERROR if isinstance(error, kind)), 400)
        errors = None
        headers = {}
        if isinstance(error, domain.Invalid) and error.field:
            lang = language()
            errors = [
                {
                    "field": error.field,
                    "code": error.code,
                    "message": i18n.translate(error.code, lang, **error.params),
                }
            ]
        if isinstance(error, domain.RateLimited):
            headers["Retry-After"] = str(error.retry_after)
        if isinstance(error, domain.Unavailable):
            headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return problem(status, error.code, errors=errors, headers=headers, params=error.params)

    def _dependency_down(error: Exception):
        log.warning("a dependency did not answer: %s", error.__class__.__name__, exc_info=True)
        return problem(503, "service_unavailable", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    for kind in _DEPENDENCY_DOWN:
        app.register_error_handler(kind, _dependency_down)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        code = _CODE_BY_STATUS.get(status, "internal_error")
        errors = None
        data = getattr(error, "data", None) or {}
        if "messages" in data:  # marshmallow validation through flask-smorest/webargs
            errors = field_errors(data["messages"], language())
            code = "validation_failed"
        headers = dict(data.get("headers") or {})
        allowed = dict(error.get_headers()).get("Allow")  # a 405 names the methods there are
        if allowed:
            headers["Allow"] = allowed
        return problem(status, code, errors=errors, headers=headers)

    @app.errorhandler(RecursionError)
    def _too_deep(error: RecursionError):
        # A caller's input nesting this deep: a JSON body a thousand brackets deep fails in
        # json.loads, and webargs turns only decode errors into a 400. Logged with its traceback,
        # should a recursion of ours ever end here instead.
        log.warning("a request nested too deep: 400", exc_info=error)
        return problem(400, "bad_request")

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error")
        return problem(500, "internal_error")

    @app.errorhandler(sql.DBAPIError)
    def _database_error(error: sql.DBAPIError):
        return _dependency_down(error) if database_down(error) else _unexpected(error)
