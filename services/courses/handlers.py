"""Events courses reacts to: member events keep its projection of who may book, and a member who
is suspended, leaves or is erased loses their future seats to the waitlist (booking.member_gone)."""

from services.common.members import MemberProjection

from . import booking, tables

HANDLERS = MemberProjection(tables.members, on_inactive=booking.member_gone).handlers
