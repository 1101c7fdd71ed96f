"""Rows mapped to domain objects."""

from __future__ import annotations

from datetime import date, time

from services.common.clock import utc

from ..model import Offer, Window, budget


def _time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def offer_from_row(row) -> Offer:
    hours = (_time(row.hours_from), _time(row.hours_to)) if row.hours_from and row.hours_to else None
    window = Window(
        starts_at=utc(row.starts_at),
        ends_at=utc(row.ends_at),
        weekdays=tuple(row.weekdays or ()),
        hours=hours,
        benefit_weeks=tuple(
            (date.fromisoformat(a), date.fromisoformat(b)) for a, b in row.benefit_weeks or ()
        ),
    )
    return Offer(
        id=row.id,
        merchant_id=row.merchant_id,
        title=row.title,
        kind=row.kind,
        window=window,
        percent_off=row.percent_off,
        cap_fen=row.cap_fen,
        steps=tuple((int(a), int(b)) for a, b in row.steps or ()),
        fixed_fen=row.fixed_fen,
        member_limit=row.member_limit,
        limit_period=row.limit_period,
        budget=budget(row.budget_kind, row.budget_remaining),
    )
