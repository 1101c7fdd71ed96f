"""Events merchants reacts to, wired in one place: member events keep the projection that accepts or
refuses cards at the till; a completed station shift earns the volunteer a thank-you voucher."""

from __future__ import annotations

import functools

from schemas.events import stations
from services.common.members import MemberProjection

from . import service, tables
from .settings import MerchantsSettings


@functools.cache
def _settings() -> MerchantsSettings:
    # Handlers get (event, uow) only: the worker's settings come from the same environment, read once.
    return MerchantsSettings.from_env("merchants")


def shift_completed(event, uow) -> None:
    data = event.data
    service.thank_for_shift(
        uow,
        shift_id=data["shift_id"],
        member_id=data["member_id"],
        value_fen=_settings().shift_voucher_fen,
        days=_settings().shift_voucher_days,
        completed_at=data["occurred_at"],
    )


HANDLERS = {
    **MemberProjection(tables.members).handlers,
    stations.SHIFT_COMPLETED: shift_completed,
}
