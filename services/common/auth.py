"""Verifying the bearer tokens that enrolment issues, and checking roles and scopes.

Enrolment signs JWTs with an asymmetric key and publishes its public keys as a JWKS; every other
service fetches that JWKS (services/common/jwks.py) and verifies tokens locally.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import time
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field

import jwt
from flask import current_app, g, request

from .errors import RETRY_AFTER_SECONDS, Problem

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
