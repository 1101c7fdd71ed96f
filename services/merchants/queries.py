"""The read side: offers near a member, vouchers and savings, the till page's reads, daily figures
(monthly statements are settlement.py).

Nearby offers are found in SQL, not in a Redis GEO set: whether a store is open and which offers are
in their window live in this database, and a second copy in Redis would have to be kept in step with
every change. A bounding box around the point (an index on lat, lng; the same on SQLite and
PostgreSQL) narrows the stores to a few, and the exact haversine distance orders those in Python.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

from sqlalchemy import Connection, func, select

from services.common.clock import SHANGHAI, utc
from services.common.domain import Forbidden, Invalid
from services.common.units import in_scope

from . import model, repository, tables
from .service import merchant_in_scope

EARTH_RADIUS_M = 6_371_000


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def store_open(store, at: datetime) -> bool:
    if not store.open:
        return False
    if not store.opens_at:
        return True
    return model.within_hours(
        at.astimezone(SHANGHAI).time(),
        time.fromisoformat(store.opens_at),
        time.fromisoformat(store.closes_at),
    )


def nearby_offers(
    conn: Connection, lat: float, lng: float, *, radius_m: int, limit: int, at: datetime
) -> list:
    """Offers valid now at open stores within ``radius_m``, each at its nearest such store, nearest first."""
    dlat = radius_m / 111_320
    dlng = radius_m / (111_320 * max(math.cos(math.radians(lat)), 0.01))
    s, m, o = tables.stores, tables.merchants, tables.offers
    rows = conn.execute(
        select(
            s,
            m.c.name.label("merchant_name"),
            m.c.category,
            m.c.budget_kind.label("merchant_budget_kind"),
            m.c.budget_remaining.label("merchant_budget_remaining"),
        )
        .join(m, m.c.id == s.c.merchant_id)
        .where(
            s.c.open.is_(True),
            s.c.lat.between(lat - dlat, lat + dlat),
            s.c.lng.between(lng - dlng, lng + dlng),
        )
    ).all()
    stores = sorted(
        ((distance_m(lat, lng, r.lat, r.lng), r) for r in rows if store_open(r, at)), key=lambda x: x[0]
    )
    # A merchant whose budget is spent gives no discount at the till (409 merchant.budget_exhausted).
    stores = [
        (d, r)
        for d, r in stores
        if d <= radius_m and model.budget(r.merchant_budget_kind, r.merchant_budget_remaining).has_left()
    ]
    if not stores:
        return []
    merchant_ids = list(dict.fromkeys(r.merchant_id for _, r in stores))
    offers_by_merchant: dict[str, list] = {}
    live = conn.execute(
        select(o)
        .where(o.c.merchant_id.in_(merchant_ids), o.c.starts_at <= at, o.c.ends_at > at)
        .order_by(o.c.created_at)
    )
    for row in live:
        offer = repository.offer_from_row(row)
        if offer.window.contains(at) and offer.budget.has_left():
            offers_by_merchant.setdefault(row.merchant_id, []).append(row)
    found = []
    for d, store in stores:  # nearest first: a merchant's offers are listed at its nearest open store
        for row in offers_by_merchant.pop(store.merchant_id, ()):
            found.append(
                {
                    "id": row.id,
                    "title": row.title,
                    "kind": row.kind,
                    "percent_off": row.percent_off,
                    "cap_fen": row.cap_fen,
                    "steps": row.steps,
                    "fixed_fen": row.fixed_fen,
                    "merchant_id": store.merchant_id,
                    "merchant_name": store.merchant_name,
                    "category": store.category,
                    "store_id": store.id,
                    "store_name": store.name,
                    "address": store.address,
                    "distance_m": round(d),
                }
            )
    return found[:limit]


def merchants(conn: Connection, admin_units) -> list:
    rows = conn.execute(select(tables.merchants).order_by(tables.merchants.c.created_at))
    return [r for r in rows if in_scope(r.branch_path, admin_units)]


def stores(conn: Connection, admin_units, merchant_id: str) -> list:
    merchant_in_scope(conn, merchant_id, admin_units)
    s = tables.stores
    return conn.execute(select(s).where(s.c.merchant_id == merchant_id).order_by(s.c.created_at)).all()


def my_vouchers(conn: Connection, member_id: str, at: datetime) -> dict:
    v, r = tables.vouchers, tables.redemptions
    vouchers = [
        {
            "id": row.id,
            "member_id": row.member_id,
            "value_fen": row.value_fen,
            "reason": row.reason,
            "expires_at": utc(row.expires_at).isoformat(),
            "created_at": utc(row.created_at).isoformat(),
            "expired": utc(row.expires_at) <= at,
            "status": model.voucher_status(row.used_at, utc(row.expires_at), at),
            "used_at": utc(row.used_at).isoformat() if row.used_at else None,
        }
        for row in conn.execute(select(v).where(v.c.member_id == member_id).order_by(v.c.created_at.desc()))
    ]
    count, discounts = conn.execute(
        select(func.count(), func.coalesce(func.sum(r.c.discount_fen), 0)).where(r.c.member_id == member_id)
    ).one()
    given_back = conn.execute(
        select(func.coalesce(func.sum(tables.reversals.c.discount_fen), 0)).where(
            tables.reversals.c.member_id == member_id
        )
    ).scalar_one()
    return {"vouchers": vouchers, "saved_fen": int(discounts) - int(given_back), "redemptions": count}


# ---- the till page: its stores, a quote before the card is spent, the day's sales -----------------


def till_stores(conn: Connection, staff_id: str) -> list[dict]:
    """The stores this till login serves, with their merchant's name: what the till page offers to pick."""
    t, s, m = tables.till_staff, tables.stores, tables.merchants
    rows = conn.execute(
        select(s.c.id, s.c.name, s.c.address, s.c.open, s.c.merchant_id, m.c.name.label("merchant_name"))
        .join(t, t.c.store_id == s.c.id)
        .join(m, m.c.id == s.c.merchant_id)
        .where(t.c.staff_id == staff_id)
        .order_by(m.c.name, s.c.name)
    )
    return [dict(r._mapping) for r in rows]


def quote(conn: Connection, staff_id: str, store_id: str, amount_fen: int, at: datetime) -> dict:
    """The offer a bill would get before any card is scanned, so the till shows it and the member's
    one-use code is spent only on confirming. Per-member limits are not known yet: the redemption
    itself may still refuse or pick another offer, and its answer is the one that counts."""
    store = repository.store(conn, store_id)
    if store is None:
        raise Invalid("store.not_found", field="store_id")
    if not repository.till_stores(conn, staff_id, store_id):
        raise Forbidden("store.not_assigned")
    choice = model.best(repository.offers_of(conn, store.merchant_id), amount_fen, at, {})
    merchant = repository.merchant(conn, store.merchant_id)
    if choice is None or not model.budget(merchant.budget_kind, merchant.budget_remaining).allows(
        choice.discount_fen
    ):
        return {"offer_id": None, "offer_title": None, "discount_fen": 0, "payable_fen": amount_fen}
    return {
        "offer_id": choice.offer.id,
        "offer_title": choice.offer.title,
        "discount_fen": choice.discount_fen,
        "payable_fen": amount_fen - choice.discount_fen,
    }


def till_day(conn: Connection, staff_id: str, store_id: str, day: date) -> list[dict]:
    """A store's redemptions of one Shanghai day, newest first, for a till that serves the store:
    the page lists them to reverse one. Card numbers stay out; the member id is enough to match."""
    if not repository.till_stores(conn, staff_id, store_id):
        raise Forbidden("store.not_assigned")
    r, o = tables.redemptions, tables.offers
    start = datetime.combine(day, time.min, SHANGHAI)
    rows = conn.execute(
        select(r, o.c.title.label("offer_title"))
        .outerjoin(o, o.c.id == r.c.offer_id)  # a sale a voucher alone discounted has no offer
        .where(
            r.c.store_id == store_id,
            r.c.created_at >= utc(start),
            r.c.created_at < utc(start + timedelta(days=1)),
        )
        .order_by(r.c.created_at.desc())
        .limit(200)
    )
    keep = (
        "id",
        "offer_id",
        "offer_title",
        "amount_fen",
        "discount_fen",
        "voucher_fen",
        "payable_fen",
        "reversed_fen",
    )
    return [{**{k: row._mapping[k] for k in keep}, "created_at": utc(row.created_at)} for row in rows]


def daily(conn: Connection, admin_units, first: date, last: date) -> list[dict]:
    """Redemptions and discount per Shanghai day and merchant in the admin's subtree (net of
    nothing: reversals are a separate, rarer line the statement shows), for the console's chart."""
    found = {m.id: m.name for m in merchants(conn, admin_units)}
    if not found:
        return []
    r = tables.redemptions
    start = utc(datetime.combine(first, time.min, SHANGHAI))
    end = utc(datetime.combine(last + timedelta(days=1), time.min, SHANGHAI))
    rows = conn.execute(
        select(r.c.merchant_id, r.c.created_at, r.c.discount_fen).where(
            r.c.merchant_id.in_(list(found)), r.c.created_at >= start, r.c.created_at < end
        )
    )
    # Grouped here, not in SQL: the Shanghai day of a UTC timestamp is spelled differently on SQLite
    # and PostgreSQL, and a month of one subtree's redemptions is a few thousand rows at most.
    days: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        key = (utc(row.created_at).astimezone(SHANGHAI).date().isoformat(), row.merchant_id)
        count_discount = days.setdefault(key, [0, 0])
        count_discount[0] += 1
        count_discount[1] += row.discount_fen
    return [
        {
            "day": day,
            "merchant_id": merchant_id,
            "merchant_name": found[merchant_id],
            "redemptions": count,
            "discount_fen": discount,
        }
        for (day, merchant_id), (count, discount) in sorted(days.items())
    ]
