"""What every service's views reach for: the service context, a unit of work that carries the
request's trace context and id, the caller's address, and answers that must not be cached."""

from __future__ import annotations

from flask import Response, current_app, g, has_request_context, make_response, request

from .db import UnitOfWork
from .observability import current_traceparent
from .web import ServiceContext


def context() -> ServiceContext:
    return current_app.extensions["unionhub"]


def unit_of_work() -> UnitOfWork:
    request_id = getattr(g, "request_id", None) if has_request_context() else None
    return context().db.unit_of_work(traceparent=current_traceparent(), request_id=request_id)


def client_ip() -> str:
    # The gateway (one trusted hop) appends the address it saw to any X-Forwarded-For the client
    # sent; only that last entry is trustworthy. The first one is whatever the client made up.
    return request.headers.get("X-Forwarded-For", request.remote_addr or "").split(",")[-1].strip()


def no_store(body, status: int = 200) -> Response:
    """Personal data and single-use codes: no cache on the way may keep a copy."""
    response = make_response((body, status))
    response.headers["Cache-Control"] = "no-store"
    return response
