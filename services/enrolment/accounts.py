"""Staff accounts and logging in: staff with a password, members with WeChat."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

import redis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import Connection

from services.common import ratelimit
from services.common.auth import MEMBER
from services.common.clock import now
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Forbidden, Invalid

from . import keys, repository, wechat
from .model import Unit
from .service import scope_paths, unit_in_scope
from .tokens import Issuer

STAFF_ROLES = ("admin", "till", "coordinator")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class LoginRules:
    issuer: Issuer
    limit_per_minute: int
    code2session_url: str
    appid: str
    app_secret: str


# --- staff accounts -------------------------------------------------------------------------------


def create_staff(uow: UnitOfWork, admin_units, *, actor: str, **account) -> str:
    with uow:
        staff_id = new_staff(uow.connection, scope_paths(uow.connection, admin_units), actor=actor, **account)
        uow.commit()
    return staff_id


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
    if "admin" in roles:
        if not unit_id:
            raise Invalid("staff.unit_required", field="unit_id")
        unit_in_scope(conn, unit_id, scopes)
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
    """A staff token carrying the account's roles and scopes; wrong details are one answer."""
    limit = rules.limit_per_minute
    ratelimit.hit(client, keys.login_attempts("ip", ip), limit=limit * 3, window_seconds=60)
    ratelimit.hit(client, keys.login_attempts("user", username), limit=limit, window_seconds=60)
    with uow:
        row = repository.staff_by_username(uow.connection, username)
    if row is None:
        _verifies(_DUMMY_HASH, password)
        raise Forbidden("login.failed")
    if row.disabled or not _verifies(row.password_hash, password):
        raise Forbidden("login.failed")
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
    with uow:
        existing = repository.current_member(uow.connection, openid=openid)
    member_id = existing.id if existing else None
    token, ttl = rules.issuer.issue(f"wx:{openid}", [MEMBER], member_id=member_id)
    return {"access_token": token, "expires_in": ttl, "member_id": member_id}
