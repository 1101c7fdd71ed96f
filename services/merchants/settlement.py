"""Settlement: each merchant's monthly statement, whose totals are the sums of its lines, and the
figures unions publish (member spend, discount, unique members who benefited).

A voucher spent at the till is part of the discount and, funded by the union, all of it is part of
the union-subsidised amount; ``voucher_fen`` shows it on its own."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import Connection, and_, distinct, func, select

from services.common.clock import SHANGHAI, now, utc
from services.common.domain import Invalid

from . import queries, tables
from .service import merchant_in_scope


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, Asia/Shanghai, in UTC."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise Invalid("month.invalid", field="month") from None
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    start = datetime.combine(first, time(), SHANGHAI)
    return start, datetime.combine(following, time(), SHANGHAI)


# A sale is dated when the till reads it, a moment before it commits: one from 23:59:59 can commit
# just after midnight. A month's statement is final only once no such sale can still be coming.
SETTLED_AFTER = timedelta(minutes=5)


def net(gross: int, discount: int, subsidy: int) -> int:
    """What the merchant is owed: what the member paid plus the union's share of the discount (the
    vouchers' part whole)."""
    return gross - discount + subsidy


def statement(conn: Connection, admin_units, merchant_id: str, month: str) -> dict:
    """One merchant's month: a line per redemption and per refund (negative) made in it, and totals
    that are the sums of those lines. A refund counts in the month it is made, so a statement
    issued ``final`` never changes; before (the running month, its first minutes after) it may."""
    merchant = merchant_in_scope(conn, merchant_id, admin_units)
    start, end = month_bounds(month)
    r, v = tables.redemptions, tables.reversals
    lines = []
    for row in conn.execute(
        select(r)
        .where(r.c.merchant_id == merchant_id, r.c.created_at >= start, r.c.created_at < end)
        .order_by(r.c.created_at, r.c.id)
    ):
        lines.append(
            _line(
                "redemption",
                row.id,
                row.id,
                row.created_at,
                row.store_id,
                row.offer_id,
                row.amount_fen,
                row.discount_fen,
                row.subsidy_fen,
                row.voucher_fen,
            )
        )
    for row in conn.execute(
        select(v, r.c.store_id, r.c.offer_id)
        .join(r, r.c.id == v.c.redemption_id)
        .where(v.c.merchant_id == merchant_id, v.c.created_at >= start, v.c.created_at < end)
        .order_by(v.c.created_at, v.c.id)
    ):
        lines.append(
            _line(
                "reversal",
                row.id,
                row.redemption_id,
                row.created_at,
                row.store_id,
                row.offer_id,
                -row.amount_fen,
                -row.discount_fen,
                -row.subsidy_fen,
                -row.voucher_fen,
            )
        )
    lines.sort(key=lambda line: (line["at"], line["id"]))
    totals = {
        "count": sum(1 for line in lines if line["kind"] == "redemption"),
        "reversals": sum(1 for line in lines if line["kind"] == "reversal"),
        **{
            k: sum(line[k] for line in lines)
            for k in ("gross_fen", "discount_fen", "subsidy_fen", "net_fen", "voucher_fen")
        },
    }
    return {
        "merchant_id": merchant_id,
        "merchant_name": merchant.name,
        "month": month,
        "final": now() >= end + SETTLED_AFTER,
        "totals": totals,
        "lines": lines,
    }


def _line(kind, line_id, redemption_id, at, store_id, offer_id, gross, discount, subsidy, voucher) -> dict:
    return {
        "kind": kind,
        "id": line_id,
        "redemption_id": redemption_id,
        "at": utc(at).astimezone(SHANGHAI).isoformat(),
        "store_id": store_id,
        "offer_id": offer_id,
        "gross_fen": gross,
        "discount_fen": discount,
        "subsidy_fen": subsidy,
        "net_fen": net(gross, discount, subsidy),
        "voucher_fen": voucher,
    }


STATEMENT_COLUMNS = (
    "kind",
    "id",
    "redemption_id",
    "at",
    "store_id",
    "offer_id",
    "gross_fen",
    "discount_fen",
    "subsidy_fen",
    "net_fen",
    "voucher_fen",  # last, so that the columns before it keep their places in older spreadsheets
)


def summary(conn: Connection, admin_units, month: str | None) -> dict:
    """The figures unions publish, over the merchants in the admin's subtree: member spend and
    discount net of refunds, and how many distinct members benefited."""
    ids = [m.id for m in queries.merchants(conn, admin_units)]
    r, v = tables.redemptions, tables.reversals
    when_r, when_v = [r.c.merchant_id.in_(ids)], [v.c.merchant_id.in_(ids)]
    if month:
        start, end = month_bounds(month)
        when_r += [r.c.created_at >= start, r.c.created_at < end]
        when_v += [v.c.created_at >= start, v.c.created_at < end]
    sums = ("amount_fen", "discount_fen", "subsidy_fen", "voucher_fen")
    count, members, *made = conn.execute(
        select(
            func.count(),
            func.count(distinct(r.c.member_id)),
            *(func.coalesce(func.sum(r.c[k]), 0) for k in sums),
        ).where(and_(*when_r))
    ).one()
    back = conn.execute(
        select(*(func.coalesce(func.sum(v.c[k]), 0) for k in sums)).where(and_(*when_v))
    ).one()
    spend, discount, subsidy, voucher = (int(a) - int(b) for a, b in zip(made, back, strict=True))
    return {
        "month": month,
        "merchants": len(ids),
        "redemptions": count,
        "total_spend_fen": spend,
        "total_discount_fen": discount,
        "total_subsidy_fen": subsidy,
        "total_voucher_fen": voucher,
        "unique_members": members,
    }
