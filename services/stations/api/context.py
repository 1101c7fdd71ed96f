"""What stations' views share: its start-up state, Redis, and who is calling."""

from __future__ import annotations

from flask import current_app

from services.common.views import caller_member_id, context

from ..startup import Stations


def stations() -> Stations:
    return current_app.extensions["stations"]


def redis():
    return context().redis


def member_id() -> str | None:
    return caller_member_id()
