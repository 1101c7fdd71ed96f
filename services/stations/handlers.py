"""Events stations reacts to: member events keep its members projection; a volunteer who stops being
an active member is taken off the rota in the same transaction (duty.on_inactive)."""

from services.common.members import MemberProjection

from . import tables
from .duty import on_inactive

HANDLERS: dict = dict(MemberProjection(tables.members, on_inactive=on_inactive).handlers)
