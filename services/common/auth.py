"""Verifying the bearer tokens that enrolment issues, and checking roles and scopes.

Enrolment signs JWTs with an asymmetric key and publishes its public keys as a JWKS; every other
service fetches that JWKS with ``requests``, caches it, keeps a copy in its own database for a
process that starts while enrolment is down, and verifies tokens locally.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import jwt
import requests
from flask import current_app, g, request
from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, Text, exc, select

from . import clock
from .errors import RETRY_AFTER_SECONDS, Problem
from .sql import insert_on_conflict

log = logging.getLogger(__name__)

AUDIENCE = "unionhub"
# Enrolment signs with Ed25519 only. Accepting any other algorithm lets a token pick how its own
# signature is checked: "RS256" against an Ed25519 key used to end in a TypeError, a 500.
ALGORITHMS = ["EdDSA"]

# Roles a token can carry.
MEMBER = "member"
ADMIN = "admin"
TILL = "till"
COORDINATOR = "coordinator"
VENUE = "venue"  # staff who check people in at course venues


@dataclass(frozen=True)
class Principal:
    subject: str
    roles: frozenset[str]
    member_id: str | None = None
    # Scopes, each limiting what the holder may touch.
    units: tuple[str, ...] = ()  # org units whose subtrees an admin manages
    merchant_id: str | None = None
    store_ids: tuple[str, ...] = ()
    station_ids: tuple[str, ...] = ()
    claims: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_claims(cls, claims: dict) -> Principal:
        return cls(
            subject=claims["sub"],
            roles=frozenset(claims.get("roles", ())),
            member_id=claims.get("member_id"),
            units=tuple(claims.get("units", ())),
            merchant_id=claims.get("merchant_id"),
            store_ids=tuple(claims.get("store_ids", ())),
            station_ids=tuple(claims.get("station_ids", ())),
            claims=claims,
        )


class KeyNotFound(LookupError):
    pass


class KeysUnavailable(Exception):
    """The issuer's keys cannot be had: a token cannot be checked, so it must not be accepted (503)."""


# What makes a key set unusable, fetched or kept: not JSON (ValueError), or not a key set.
_NOT_A_KEY_SET = (ValueError, TypeError, KeyError, jwt.PyJWTError)


def _key_set(document: str) -> dict[str, jwt.PyJWK]:
    return {k["kid"]: jwt.PyJWK(k) for k in json.loads(document)["keys"] if "kid" in k}


class JwksKeys:
    """Public keys from a JWKS URL, cached. A cache older than ``cache_seconds``, or a key id not in
    it (key rotation), sends one thread to the issuer again, at most once every
    ``min_refetch_seconds``. An issuer that does not answer leaves the keys held in use: enrolment
    down must not stop every signed-in request elsewhere once the cache ages (a till's sale checks
    its staff token here first). Only a token whose key is not held then cannot be checked.

    With ``copy``, each key set fetched is kept in the service's database, and a process that
    meets a key it does not hold while the issuer does not answer (one started during an outage)
    looks there before giving up. The copy only ever adds keys while the issuer is down: the next
    good answer replaces them, so a key withdrawn meanwhile is not kept alive by it."""

    def __init__(
        self,
        url: str,
        cache_seconds: int = 300,
        *,
        min_refetch_seconds: float = 10.0,
        session=None,
        copy: IssuerKeysCopy | None = None,
    ):
        self.url = url
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self.session = session or requests.Session()
        self._copy = copy
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._tried_at = float("-inf")
        self._failing = False  # the last time the issuer was asked, it did not answer usably
        self._lock = threading.Lock()

    def key(self, kid: str):
        if kid not in self._keys or time.monotonic() - self._fetched_at > self.cache_seconds:
            # A key held is used while another thread asks the issuer (who may take its timeout to
            # fail); one not held has to wait for the answer.
            if self._lock.acquire(blocking=kid not in self._keys):
                try:
                    if time.monotonic() - self._tried_at >= self.min_refetch_seconds:
                        self._refresh()
                        if self._failing and kid not in self._keys:
                            self._add_kept_keys()
                finally:
                    self._lock.release()
        held = self._keys.get(kid)
        if held is not None:
            return held.key
        if self._failing:
            raise KeysUnavailable(self.url)
        raise KeyNotFound(kid)

    def _refresh(self) -> None:
        self._tried_at = time.monotonic()
        try:
            response = self.session.get(self.url, timeout=5)
            response.raise_for_status()
            document = response.text
            keys = _key_set(document)
        # An issuer answering garbage is as good as down, and must not turn every caller's token
        # into a 401.
        except (requests.RequestException, *_NOT_A_KEY_SET) as error:
            log.warning("JWKS %s did not answer usably (%s); keeping the keys held", self.url, error)
            self._failing = True
            return
        self._keys, self._fetched_at, self._failing = keys, time.monotonic(), False
        if self._copy is not None:
            self._copy.save(self.url, document)

    def _add_kept_keys(self) -> None:
        kept = self._copy.load(self.url) if self._copy is not None else None
        if kept is None:
            return
        try:
            keys = _key_set(kept.jwks)
        except _NOT_A_KEY_SET as error:
            log.warning("the database's copy of JWKS %s is no key set (%s)", self.url, error)
            return
        log.warning(
            "JWKS %s does not answer: checking tokens with its copy in the database, fetched at %s",
            self.url,
            kept.fetched_at.isoformat(),
        )
        # Added to the keys held, not put in their place: the copy may be older than what this
        # process fetched before the issuer went down.
        self._keys = {**keys, **self._keys}


def add_issuer_keys_table(metadata: MetaData) -> Table:
    """The table ``IssuerKeysCopy`` keeps in every service's database: the last key set each JWKS
    URL answered with. Not in Redis, as card keys are: whoever can write here owns the service
    already, while a key planted in a shared Redis would sign admin tokens for every service."""
    return Table(
        "issuer_keys",
        metadata,
        Column("url", String(500), primary_key=True),
        Column("jwks", Text, nullable=False),
        Column("fetched_at", DateTime(timezone=True), nullable=False),
    )


class KeptJwks(NamedTuple):
    jwks: str
    fetched_at: datetime


class IssuerKeysCopy:
    """JWKS documents kept in the service's ``issuer_keys`` table. A database that fails here is
    logged and passed over: the copy is a fallback, and must never fail a token check itself."""

    def __init__(self, engine: Engine, table: Table):
        self._engine = engine
        self._table = table
        self._saved: dict[str, str] = {}  # url -> the document this process last saved

    def save(self, url: str, jwks: str) -> None:
        # The issuer is asked every few minutes by every process, and its answer seldom changes: a
        # document already saved is not written again, by this process or (the WHERE) any other.
        if self._saved.get(url) == jwks:
            return
        t = self._table
        try:
            with self._engine.begin() as conn:
                insert = insert_on_conflict(conn, t).values(url=url, jwks=jwks, fetched_at=clock.now())
                conn.execute(
                    insert.on_conflict_do_update(
                        index_elements=[t.c.url],
                        set_={"jwks": insert.excluded.jwks, "fetched_at": insert.excluded.fetched_at},
                        where=t.c.jwks != insert.excluded.jwks,
                    )
                )
        except exc.SQLAlchemyError as error:
            log.warning("could not keep a copy of JWKS %s in the database (%s)", url, error)
            return
        self._saved[url] = jwks

    def load(self, url: str) -> KeptJwks | None:
        t = self._table
        try:
            with self._engine.connect() as conn:
                row = conn.execute(select(t.c.jwks, t.c.fetched_at).where(t.c.url == url)).first()
        except exc.SQLAlchemyError as error:
            log.warning("could not read the copy of JWKS %s from the database (%s)", url, error)
            return None
        return None if row is None else KeptJwks(row.jwks, clock.utc(row.fetched_at))


class TokenVerifier:
    # Tokens verified lately, at most this many: a till, a member's phone or the web console sends
    # the same token with every request while it lives, and PyJWT's checks of it (the base64 of each
    # part, character by character, then Ed25519) were 4 % of a till redemption's CPU
    # (docs/benchmarks.md, "Benefit-week redemptions").
    REMEMBERED = 4096

    def __init__(self, keys, issuer: str, *, audience: str = AUDIENCE, leeway: int = 30):
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self._verified: dict[str, _Verified] = {}

    def verify(self, token: str) -> Principal:
        verified = self._verified.get(token)
        if verified is not None and verified.still_valid(self.keys, time.time()):
            return verified.principal
        principal, verified = self._verify(token)
        if len(self._verified) >= self.REMEMBERED:
            self._verified.clear()  # simpler than LRU; refilled within a second under load
        self._verified[token] = verified
        return principal

    def _verify(self, token: str) -> tuple[Principal, _Verified]:
        try:
            kid = _kid(token)
            key = self.keys.key(kid)
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        # TypeError/ValueError: a key that cannot check the token's algorithm; RecursionError: a
        # header nested a thousand deep. Whatever a token claims, the caller gets a 401, never a 500.
        except (jwt.PyJWTError, KeyNotFound, TypeError, ValueError, RecursionError) as error:
            raise Problem(
                401, "token_invalid", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
            ) from error
        except KeysUnavailable as error:
            # The issuer's JWKS cannot be fetched: we cannot tell, so we must not accept.
            raise Problem(
                503, "service_unavailable", headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
            ) from error
        principal = Principal.from_claims(claims)
        # The span PyJWT accepts the token in (iat and nbf not after now + leeway, exp after now - leeway).
        valid_from = max(int(claims["iat"]), int(claims.get("nbf", claims["iat"]))) - self.leeway
        return principal, _Verified(principal, kid, key, valid_from, int(claims["exp"]) + self.leeway)


def _kid(token: str) -> str:
    """The key id a token's header names, read without PyJWT's checks: it only picks the key, and
    jwt.decode then checks that header and the signature over it. (PyJWT's header reader checks the
    base64 character by character, 3 % of a booking's CPU; docs/benchmarks.md.) Garbage raises
    ValueError, or names a key nobody has."""
    segment = token.partition(".")[0]
    header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    kid = header.get("kid", "") if isinstance(header, dict) else ""
    return kid if isinstance(kid, str) else ""


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token that verified: the same text verifies again with the same key, so only the time and
    the key need checking again. A key the JWKS no longer holds (rotated out), or holds anew after a
    refetch, sends the token through the full check."""

    principal: Principal
    kid: str
    key: object
    valid_from: float
    valid_until: float

    def still_valid(self, keys, now: float) -> bool:
        if not self.valid_from <= now < self.valid_until:
            return False
        try:
            return keys.key(self.kid) is self.key
        except (KeyNotFound, KeysUnavailable):
            return False


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate() -> Principal:
    token = bearer_token()
    if token is None:
        raise Problem(401, "unauthorized", headers={"WWW-Authenticate": "Bearer"})
    principal = current_app.extensions["unionhub"].verifier.verify(token)
    g.principal = principal
    return principal


def require(*roles: str) -> Callable:
    """Allow the view only to callers holding one of ``roles`` (any authenticated caller if none)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate()
            if roles and not principal.roles.intersection(roles):
                raise Problem(403, "forbidden")
            return view(*args, **kwargs)

        # Tell the OpenAPI document this operation needs a bearer token (flask-smorest's doc hook).
        wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
        manual = wrapper._apidoc.setdefault("manual_doc", {})
        manual["security"] = [{"bearerAuth": []}]
        if roles:
            manual["description"] = f"Requires role: {' or '.join(roles)}."
        return wrapper

    return decorate


def principal() -> Principal:
    return g.principal
