"""What merchants' views share: its start-up state, the caller's staff id, an idempotent request."""

from __future__ import annotations

from flask import current_app, request

from services.common.auth import principal
from services.common.domain import Invalid
from services.common.errors import Problem
from services.common.idempotency import HEADER, IdempotentRequest

from .. import tables
from ..startup import Merchants


def merchants() -> Merchants:
    return current_app.extensions["merchants"]


def staff_id() -> str:
    """The staff id of a staff token ("staff:<id>"); a till acts only through this service's records."""
    subject = principal().subject
    if not subject.startswith("staff:"):
        raise Problem(403, "forbidden")
    return subject.removeprefix("staff:")


def idempotent(operation: str, body, *, required: bool = True) -> IdempotentRequest:
    key = request.headers.get(HEADER)
    if key is None and required:
        raise Invalid("idempotency_key.required", field=HEADER)
    return IdempotentRequest.of(
        tables.idempotency_keys,
        f"{operation}:{principal().subject}",
        key,
        body,
        secret=merchants().idempotency_secret,
    )
