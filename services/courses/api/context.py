"""What courses' views share: its start-up state, the caller as admin, staff or member."""

from __future__ import annotations

from flask import current_app

from services.common.auth import ADMIN, bearer_token, principal
from services.common.domain import Forbidden
from services.common.views import caller_member_id

from ..attendance import Staff
from ..startup import Courses


def courses() -> Courses:
    return current_app.extensions["courses"]


def admin_units() -> tuple[str, ...]:
    return principal().units


def branch_path(branch_id: str) -> list[str]:
    """The branch's place in the tree, from enrolment, if the calling admin manages it."""
    return courses().units.path(branch_id, bearer_token())


def member_id() -> str:
    found = caller_member_id()
    if not found:
        raise Forbidden("member.unknown")
    return found


def staff() -> Staff:
    caller = principal()
    if not caller.subject.startswith("staff:"):
        raise Forbidden("forbidden")
    return Staff(caller.subject.removeprefix("staff:"), caller.units if ADMIN in caller.roles else ())
