"""Events stations reacts to: member events keep its members projection; a volunteer who stops being
an active member is taken off the rota and their open shift stopped, in the same transaction."""

from datetime import datetime

from services.common.members import MemberProjection

from . import duty, shifts, tables


def on_inactive(uow, member_id: str, reason: str, before: datetime | None) -> None:
    # The shift first: it locks the shift, then the station, then the duties, as a check-out does
    # and in a check-in's order (station, duties). A batch of events for several volunteers of one
    # station can still meet a check-in in a deadlock; PostgreSQL ends one side, a retry (the
    # consumer's, or the till's after its 503) then goes through.
    shifts.cut_short(uow, member_id, reason, before)
    duty.on_inactive(uow, member_id, reason, before)


HANDLERS: dict = dict(MemberProjection(tables.members, on_inactive=on_inactive).handlers)
