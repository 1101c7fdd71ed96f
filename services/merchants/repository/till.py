"""The till's one read: everything a sale is checked against, in one round trip.

A redemption used to read the stored Idempotency answer, the store with its merchant and the till's
assignment, the member, the voucher, and the offers with the member's uses of them, one statement
each (and the stored answer twice). Each statement cost the till its own round trip and about a
quarter of a millisecond of Python; folded into one SELECT they cost one (docs/benchmarks.md,
"Benefit-week redemptions"). Every look-up hangs on a one-row base by LEFT JOIN, so each is found or
not on its own: the stored answer of a retry even where its store is not. One row comes back per
offer (and per usage period of the member's that matches one), the other columns repeated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, literal, select

from services.common import sql
from services.common.members import Member

from .. import model, tables
from .rows import offer_from_row

_m, _s, _t = tables.merchants, tables.stores, tables.till_staff
_o, _u, _v = tables.offers, tables.offer_usage, tables.vouchers
_member, _k = tables.members, tables.idempotency_keys


@dataclass(frozen=True)
class AtTill:
    """The store the till names and its merchant, and whether this till login serves that store."""

    id: str  # the merchant's
    store_id: str
    assigned: bool
    budget_kind: str | None
    budget_remaining: int | None
    union_share_percent: int


@dataclass(frozen=True)
class Voucher:
    id: str
    member_id: str
    value_fen: int
    used_at: datetime | None
    expires_at: datetime


@dataclass(frozen=True)
class TillRead:
    answer: tuple  # the request's Idempotency record: (request_hash, status, body, created_at), or Nones
    merchant: AtTill | None  # None: no such store
    member_id: str | None  # the member looked up
    member: Member | None  # None: not in the projection
    voucher: Voucher | None  # the voucher named, if it exists
    offers: list[model.Offer]  # the merchant's, or the one named (of whichever merchant), oldest first
    used: dict[str, int]  # offer id → the member's uses in the period it counts now


def _read(offers_on):
    one = select(literal(1).label("one")).subquery("one")
    usage = (
        (_u.c.offer_id == _o.c.id)
        & (_u.c.member_id == bindparam("member"))
        & _u.c.period.in_([bindparam(p) for p in model.PERIODS])
    )
    return (
        select(
            _k.c.request_hash.label("answer_hash"),
            _k.c.status.label("answer_status"),
            _k.c.body.label("answer_body"),
            _k.c.created_at.label("answered_at"),
            _s.c.id.label("store_id"),
            _s.c.merchant_id.label("store_merchant_id"),
            _m.c.budget_kind.label("merchant_budget_kind"),
            _m.c.budget_remaining.label("merchant_budget_remaining"),
            _m.c.union_share_percent,
            _t.c.staff_id.is_not(None).label("assigned"),
            _member.c.member_id.label("known_member_id"),
            _member.c.status.label("member_status"),
            _member.c.branch_id.label("member_branch_id"),
            _member.c.branch_path.label("member_branch_path"),
            _member.c.card_no,
            _v.c.id.label("voucher_id"),
            _v.c.member_id.label("voucher_member_id"),
            _v.c.value_fen.label("voucher_value_fen"),
            _v.c.used_at.label("voucher_used_at"),
            _v.c.expires_at.label("voucher_expires_at"),
            *_o.c,
            _u.c.period.label("used_period"),
            _u.c.uses,
        )
        .select_from(one)
        .outerjoin(_k, (_k.c.scope == bindparam("scope")) & (_k.c.key == bindparam("key")))
        .outerjoin(_s, _s.c.id == bindparam("store"))
        .outerjoin(_m, _m.c.id == _s.c.merchant_id)
        .outerjoin(_t, (_t.c.store_id == _s.c.id) & (_t.c.staff_id == bindparam("staff")))
        .outerjoin(_member, _member.c.member_id == bindparam("member"))
        .outerjoin(_v, _v.c.id == bindparam("voucher"))
        .outerjoin(_o, offers_on)
        .outerjoin(_u, usage)
        .order_by(_o.c.created_at, _o.c.id)
    )


_MERCHANTS_OFFERS = _read(_o.c.merchant_id == _s.c.merchant_id)
_NAMED_OFFER = _read(_o.c.id == bindparam("offer"))


def till_read(
    conn: Connection,
    *,
    staff_id: str,
    store_id: str,
    member_id: str | None,
    at: datetime,
    offer_id: str | None = None,
    voucher_id: str | None = None,
    scope: str | None = None,
    key: str | None = None,
) -> TillRead:
    """What a sale at ``store_id`` by till login ``staff_id`` is checked against: ``member_id``'s
    standing, the voucher and offer named (else the merchant's offers), and the stored answer of the
    request's Idempotency ``scope`` and ``key``."""
    params = {
        "scope": scope,
        "key": key,
        "store": store_id,
        "staff": staff_id,
        "member": member_id,
        "voucher": voucher_id,
        **{p: model.period(p, at) for p in model.PERIODS},
    }
    if offer_id is not None:
        statement, params["offer"] = _NAMED_OFFER, offer_id
    else:
        statement = _MERCHANTS_OFFERS
    rows = sql.fetch(conn, statement, params)
    first = rows[0]  # the one-row base: always there
    offers: dict[str, model.Offer] = {}
    used: dict[str, int] = {}
    for row in rows:
        if row.id is None:
            continue  # no offer: the merchant has none, or the one named does not exist
        offer = offers.get(row.id) or offers.setdefault(row.id, offer_from_row(row))
        if row.used_period is not None and row.used_period == offer.period(at):
            used[row.id] = row.uses
    return TillRead(
        answer=(first.answer_hash, first.answer_status, first.answer_body, first.answered_at),
        merchant=None if first.store_id is None else _at_till(first),
        member_id=member_id,
        member=None if first.known_member_id is None else _member_of(first),
        voucher=None if first.voucher_id is None else _voucher_of(first),
        offers=list(offers.values()),
        used=used,
    )


def _at_till(row) -> AtTill:
    return AtTill(
        id=row.store_merchant_id,
        store_id=row.store_id,
        assigned=bool(row.assigned),
        budget_kind=row.merchant_budget_kind,
        budget_remaining=row.merchant_budget_remaining,
        union_share_percent=row.union_share_percent,
    )


def _member_of(row) -> Member:
    return Member(
        row.known_member_id,
        row.member_status,
        row.member_branch_id,
        tuple(row.member_branch_path or ()),
        row.card_no,
    )


def _voucher_of(row) -> Voucher:
    return Voucher(
        id=row.voucher_id,
        member_id=row.voucher_member_id,
        value_fen=row.voucher_value_fen,
        used_at=row.voucher_used_at,
        expires_at=row.voucher_expires_at,
    )
