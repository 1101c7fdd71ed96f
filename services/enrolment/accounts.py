"""Staff accounts and logging in: staff with a password, members with WeChat."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import redis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import Connection, exc

from services.common import ratelimit
from services.common.auth import MEMBER
from services.common.clock import now
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Forbidden, Invalid, NotFound
from services.common.idempotency import IdempotentRequest
from services.common.login_throttle import LoginThrottle, Policy

from . import keys, repository, wechat
from .model import Unit
from .service import covers_federation, scope_paths, unit_in_scope
from .tokens import Issuer

STAFF_ROLES = ("admin", "till", "coordinator", "venue")
# Roles of staff who act for a merchant's stores, a station or a course venue. Which stores, station
# or venue they serve is recorded by the merchants, stations or courses service and decided there;
# enrolment only issues the login.
OUTSIDE_ROLES = ("till", "coordinator", "venue")

_hasher = PasswordHasher()


@dataclass(frozen=True)
class LoginRules:
    issuer: Issuer
    limit_per_minute: int
    code2session_url: str
    appid: str
    app_secret: str


# --- staff accounts -------------------------------------------------------------------------------


def create_staff(uow: UnitOfWork, admin_units, request: IdempotentRequest, *, actor: str, **account) -> str:
    """A new staff login's id. With an Idempotency-Key, a retry is answered the id the first made:
    merchants asks for a till login before it records which stores the login serves, and retries
    when that record fails."""

    def create() -> dict:
        with uow:
            conn = uow.connection
            if stored := request.answered(conn):
                return stored[1]
            answer = {"id": new_staff(conn, scope_paths(conn, admin_units), actor=actor, **account)}
            request.remember(conn, 201, answer)
            uow.commit()
        return answer

    try:
        return request.once(uow, create)["id"]
    except exc.IntegrityError:
        # Another login of that username committed between the check and this INSERT, and it was
        # not this request's twin (``once`` would have answered the twin's id).
        raise Conflict("staff.username_taken") from None


def new_staff(
    conn: Connection,
    scopes: list[str],
    *,
    actor: str,
    username: str,
    password: str,
    roles,
    unit_id=None,
    merchant_id=None,
    store_ids=(),
    station_ids=(),
) -> str:
    if "admin" in roles and not unit_id:
        raise Invalid("staff.unit_required", field="unit_id")
    if unit_id is not None:
        # Checked for every role: an unchecked id reached the foreign key and answered 500.
        if not _is_uuid(unit_id):
            raise NotFound("unit.not_found")
        unit_in_scope(conn, unit_id, scopes)
    # A login for outside work belongs to a unit in the admin's subtree (checked above) and grants
    # nothing by itself: the service that owns the store, station or venue assigns it from its own
    # records (merchants creates till logins with the admin's own token). Claims naming stores or
    # stations in the token cannot be checked here, so only the federation's admins may set them.
    unowned = set(roles) & set(OUTSIDE_ROLES) and unit_id is None
    if (unowned or merchant_id or store_ids or station_ids) and not covers_federation(conn, scopes):
        raise Forbidden("staff.claims_need_federation_admin")
    if repository.staff_by_username(conn, username):
        raise Conflict("staff.username_taken")
    staff_id = str(uuid.uuid4())
    repository.add_staff(
        conn,
        id=staff_id,
        username=username,
        password_hash=_hasher.hash(password),
        roles=list(roles),
        unit_id=unit_id,
        merchant_id=merchant_id,
        store_ids=list(store_ids),
        station_ids=list(station_ids),
        disabled=False,
        created_by=actor,
        created_at=now(),
    )
    return staff_id


def _is_uuid(value: str) -> bool:
    # Unit ids are UUIDs; anything else names no unit and must not reach the database (a NUL byte
    # or an over-long value fails there instead of matching nothing).
    try:
        return str(uuid.UUID(value)) == value
    except (ValueError, TypeError, AttributeError):
        return False


def ensure_bootstrap_admin(conn: Connection, password: str, root: Unit) -> None:
    """The federation's first admin ("admin"), with the password the deployment sets."""
    row = repository.staff_by_username(conn, "admin")
    if row is None:
        new_staff(
            conn, [root.path], actor="bootstrap", username="admin", password=password, roles=["admin"],
            unit_id=root.id,
        )  # fmt: skip
    elif not _verifies(row.password_hash, password):
        repository.set_staff_password(conn, row.id, _hasher.hash(password))


# --- logging in -----------------------------------------------------------------------------------


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


# Checked against a real hash when the username is unknown, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def log_in_staff(
    uow: UnitOfWork, client: redis.Redis, rules: LoginRules, *, username: str, password: str, ip: str
) -> tuple[str, int]:
    """A staff token carrying the account's roles and scopes; wrong details are one answer.

    Failed attempts slow down the source that makes them (login_throttle.py); a limit on the account
    alone would let anyone lock its owner out.
    """
    throttle = LoginThrottle(client, keys.login_throttle, Policy.per_minute(rules.limit_per_minute))
    throttle.check(username, ip)
    with uow.read_only():
        row = repository.staff_by_username(uow.connection, username)
    if row is None:
        _verifies(_DUMMY_HASH, password)
    if row is None or row.disabled or not _verifies(row.password_hash, password):
        throttle.failed(username, ip)
        raise Forbidden("login.failed")
    throttle.succeeded(username, ip)
    return rules.issuer.issue(
        f"staff:{row.id}",
        row.roles,
        units=[row.unit_id] if row.unit_id else [],
        merchant_id=row.merchant_id,
        store_ids=row.store_ids,
        station_ids=row.station_ids,
    )


def log_in_member(uow: UnitOfWork, client: redis.Redis, rules: LoginRules, *, code: str, ip: str) -> dict:
    """A member token for the WeChat user behind a wx.login code, with their membership if any."""
    limit = rules.limit_per_minute * 6
    ratelimit.hit(client, keys.login_attempts("wechat", ip), limit=limit, window_seconds=60)
    openid = wechat.code2session(rules.code2session_url, rules.appid, rules.app_secret, code)
    with uow.read_only():
        existing = repository.current_member(uow.connection, openid=openid)
    member_id = existing.id if existing else None
    token, ttl = rules.issuer.issue(f"wx:{openid}", [MEMBER], member_id=member_id)
    return {"access_token": token, "expires_in": ttl, "member_id": member_id}
