"""What enrolment's views share: its start-up state, the caller's admin units, the join URL."""

from __future__ import annotations

from flask import current_app

from services.common.auth import principal
from services.common.views import context

from ..funnel import Funnel
from ..startup import Enrolment


def enrolment() -> Enrolment:
    return current_app.extensions["enrolment"]


def admin_units() -> tuple[str, ...]:
    """The unit ids whose subtrees the calling admin manages (use cases resolve and check them)."""
    return principal().units


def funnel() -> Funnel:
    return Funnel(context().redis)


def join_url(code: str) -> str:
    return f"{context().settings.public_base_url}/api/v1/join/{code}"
