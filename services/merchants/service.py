"""Admins' use cases: onboarding merchants, their stores, till logins and offers; granting vouchers.

An admin acts on a merchant when one of their units lies on the path of the merchant's branch
(learned from enrolment once, when the merchant is created); otherwise the merchant reads as absent.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta

from sqlalchemy import Connection

from schemas.events import benefits
from services.common import members
from services.common.clock import now
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Invalid, NotFound
from services.common.idempotency import IdempotentRequest
from services.common.units import Units, in_scope

from . import repository, tables
from .logins import Logins
from .model import BUDGET_KINDS, FIXED, PERCENT, THRESHOLD


def merchant_in_scope(conn: Connection, merchant_id: str, admin_units):
    row = repository.merchant(conn, merchant_id)
    if row is None or not in_scope(row.branch_path, admin_units):
        raise NotFound("merchant.not_found")
    return row


def _budget(kind: str | None, total: int | None) -> dict:
    if (kind is None) != (total is None) or (kind is not None and kind not in BUDGET_KINDS):
        raise Invalid("budget.fields", field="budget_kind")
    return {"budget_kind": kind, "budget_total": total, "budget_remaining": total}


def create_merchant(
    uow: UnitOfWork,
    units: Units,
    admin_token: str,
    *,
    actor: str,
    branch_id: str,
    budget_kind=None,
    budget_total=None,
    **fields,
) -> str:
    budget = _budget(budget_kind, budget_total)
    # Enrolment answers only for a branch in the admin's subtree (else 404): that is the scope check.
    path = units.path(branch_id, admin_token)
    merchant_id = str(uuid.uuid4())
    with uow:
        repository.add_merchant(
            uow.connection,
            id=merchant_id,
            branch_id=branch_id,
            branch_path=path,
            created_by=actor,
            created_at=now(),
            **budget,
            **fields,
        )
        uow.commit()
    return merchant_id


def _hours(opens_at: str | None, closes_at: str | None, field: str = "closes_at") -> None:
    if (opens_at is None) != (closes_at is None):
        raise Invalid("store.hours_incomplete", field=field)
    if opens_at is not None and opens_at == closes_at:
        raise Invalid("hours.empty", field=field)  # [from, to) holds no minute: never open


def add_store(uow: UnitOfWork, admin_units, merchant_id: str, **store) -> dict:
    _hours(store.get("opens_at"), store.get("closes_at"))
    row = {"id": str(uuid.uuid4()), "merchant_id": merchant_id, "created_at": now(), **store}
    with uow:
        merchant_in_scope(uow.connection, merchant_id, admin_units)
        repository.add_store(uow.connection, **row)
        uow.commit()
    return row


def change_store(uow: UnitOfWork, admin_units, merchant_id: str, store_id: str, **changes):
    with uow:
        conn = uow.connection
        merchant_in_scope(conn, merchant_id, admin_units)
        store = repository.store(conn, store_id)
        if store is None or store.merchant_id != merchant_id:
            raise NotFound("store.not_found")
        hours = {"opens_at": store.opens_at, "closes_at": store.closes_at}
        hours.update({k: v for k, v in changes.items() if k in hours})
        _hours(hours["opens_at"], hours["closes_at"])
        if not changes:
            return store  # an empty patch changes nothing (an UPDATE must set something)
        repository.set_store_open(conn, store_id, **changes)
        store = repository.store(conn, store_id)
        uow.commit()
    return store


def add_till_staff(
    uow: UnitOfWork,
    logins: Logins,
    admin_token: str,
    admin_units,
    merchant_id: str,
    *,
    username: str,
    password: str,
    store_ids: list[str],
) -> dict:
    """A till login from enrolment, serving the given stores of this merchant."""
    store_ids = list(dict.fromkeys(store_ids))
    with uow.read_only():
        conn = uow.connection
        merchant = merchant_in_scope(conn, merchant_id, admin_units)
        for store_id in store_ids:
            store = repository.store(conn, store_id)
            if store is None or store.merchant_id != merchant_id:
                raise Invalid("store.not_of_merchant", field="store_ids")
        if repository.username_taken(conn, username):
            raise Conflict("staff.username_taken")
    # Asked last, once the request is known to be good: a login enrolment made for a request refused
    # here would be left serving no store. Recording its stores below is a transaction of ours
    # alone; should it fail, the admin's retry is answered the same login by enrolment, under a
    # key of this merchant and username, instead of "username taken" by a login that serves nothing.
    # So is a twin of this request (a double-click) that passed the checks above before either
    # recorded anything: it finds the stores recorded and answers what the first did.
    staff_id = logins.create_till(
        admin_token,
        username=username,
        password=password,
        unit_id=merchant.branch_id,
        key=f"till-login:{merchant_id}:{username}",
    )
    at = now()
    with uow:
        repository.add_till_staff(
            uow.connection,
            [
                {
                    "staff_id": staff_id,
                    "store_id": s,
                    "merchant_id": merchant_id,
                    "username": username,
                    "created_at": at,
                }
                for s in store_ids
            ],
        )
        uow.commit()
    return {"id": staff_id, "username": username, "merchant_id": merchant_id, "store_ids": store_ids}


def _offer_fields(body: dict) -> dict:
    kind = body["kind"]
    needed = {PERCENT: "percent_off", THRESHOLD: "steps", FIXED: "fixed_fen"}[kind]
    if not body.get(needed):
        raise Invalid("offer.kind_fields", field=needed)
    if body["ends_at"] <= body["starts_at"]:
        raise Invalid("offer.window_empty", field="ends_at")
    if (body.get("member_limit") is None) != (body.get("limit_period") is None):
        raise Invalid("offer.limit_fields", field="limit_period")
    _hours(body.get("hours_from"), body.get("hours_to"), field="hours_to")
    steps = sorted(body.get("steps") or ()) if kind == THRESHOLD else None
    # 满100减10, 满200减25: each higher threshold takes more off, so the highest step reached is the best.
    if steps and not all(lo[0] < hi[0] and lo[1] < hi[1] for lo, hi in itertools.pairwise(steps)):
        raise Invalid("offer.steps_not_increasing", field="steps")
    if any(last < first for first, last in body.get("benefit_weeks") or ()):
        raise Invalid("offer.benefit_week_reversed", field="benefit_weeks")
    budget = _budget(body.pop("budget_kind", None), body.pop("budget_total", None))
    weeks = [[a.isoformat(), b.isoformat()] for a, b in body.pop("benefit_weeks", None) or ()]
    return {
        **body,
        **budget,
        "steps": [list(s) for s in steps] if steps else None,
        "percent_off": body.get("percent_off") if kind == PERCENT else None,
        "cap_fen": body.get("cap_fen") if kind == PERCENT else None,
        "fixed_fen": body.get("fixed_fen") if kind == FIXED else None,
        "benefit_weeks": weeks or None,
    }


def create_offer(uow: UnitOfWork, admin_units, *, merchant_id: str, **body) -> str:
    row = _offer_fields(body)
    offer_id = str(uuid.uuid4())
    with uow:
        merchant_in_scope(uow.connection, merchant_id, admin_units)
        repository.add_offer(uow.connection, id=offer_id, merchant_id=merchant_id, created_at=now(), **row)
        uow.commit()
    return offer_id


def grant_voucher(
    uow: UnitOfWork,
    admin_units,
    request: IdempotentRequest,
    *,
    actor: str,
    member_id: str,
    value_fen: int,
    reason: str,
    expires_at: datetime,
) -> dict:
    """A voucher for a member of the admin's subtree (as the projection of member events places them)."""

    def grant() -> dict:
        with uow:
            conn = uow.connection
            # The stored answer first: a retry gets it even once the voucher has expired.
            if stored := request.answered(conn):
                return stored[1]
            if expires_at <= now():
                raise Invalid("voucher.expiry_in_past", field="expires_at")
            member = members.find(conn, tables.members, member_id)
            if member is None or not in_scope(member.branch_path, admin_units):
                raise NotFound("member.unknown")
            voucher = _voucher(uow, member_id, value_fen, reason, expires_at, granted_by=actor)
            request.remember(conn, 201, voucher)
            uow.commit()
        return voucher

    return request.once(uow, grant)


def _voucher(
    uow: UnitOfWork, member_id: str, value_fen: int, reason: str, expires_at: datetime, **row
) -> dict:
    voucher = {
        "id": str(uuid.uuid4()),
        "member_id": member_id,
        "value_fen": value_fen,
        "reason": reason,
        "expires_at": expires_at,
        "created_at": now(),
    }
    repository.add_voucher(uow.connection, **voucher, **row)
    _voucher_granted(uow, voucher)
    return {**voucher, "expires_at": expires_at.isoformat(), "created_at": voucher["created_at"].isoformat()}


def _voucher_granted(uow: UnitOfWork, voucher: dict) -> None:
    uow.emit(
        benefits.VOUCHER_GRANTED,
        voucher["member_id"],
        {
            "member_id": voucher["member_id"],
            "voucher_id": voucher["id"],
            "value_fen": voucher["value_fen"],
            "reason": voucher["reason"],
            "occurred_at": voucher["created_at"],
        },
    )


SHIFT_REASON = "shift_thanks"


def thank_for_shift(
    uow, *, shift_id: str, member_id: str, value_fen: int, days: int, completed_at: datetime
) -> bool:
    """The volunteer's thank-you voucher for one completed shift, once per shift; True if granted now.

    The inbox drops a redelivered event; the unique shift id also stops a replay under a new event id.
    Dated from the shift's completion, not from when the event is handled: one dead-lettered and
    replayed weeks later must not earn a voucher good for a full term from the replay.
    """
    at = completed_at
    voucher = {
        "id": str(uuid.uuid4()),
        "member_id": member_id,
        "value_fen": value_fen,
        "reason": SHIFT_REASON,
        "expires_at": at + timedelta(days=days),
        "created_at": at,
    }
    if not repository.add_shift_voucher(uow.connection, shift_id=shift_id, granted_by="station", **voucher):
        return False
    _voucher_granted(uow, voucher)
    return True
