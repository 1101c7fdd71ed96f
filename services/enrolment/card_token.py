"""The rotating code on a member's digital card, scanned by merchant till staff.

The code changes every minute and works once, so a screenshot passed around a WeChat group cannot
be used to claim member discounts. It is signed rather than stored, so issuing one writes nothing
and redeeming costs a single Redis SET NX.

Layout before base64url: version (1) | expires_at (4, big-endian) | nonce (16) | member id (UTF-8)
| HMAC-SHA256 tag truncated to 16 bytes. Binary keeps the QR symbol small enough to scan from a
cracked phone screen.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

VERSION = 1
DEFAULT_TTL = 60
MAX_TTL = 600
NONCE_BYTES = 16
TAG_BYTES = 16
MIN_SECRET_BYTES = 32
MAX_MEMBER_ID_BYTES = 64

# Used nonces are kept a little past expiry: app servers' clocks drift, and a nonce forgotten by
# Redis while another server still thinks the token is live could be replayed.
USED_MARGIN_SECONDS = 5

# Domain separation, so a signature made with this secret for any other purpose never verifies here.
_MAC_CONTEXT = b"unionhub.card_token\x00"
_HEADER = struct.Struct(">BI")
_FIXED_BYTES = _HEADER.size + NONCE_BYTES
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class CardTokenError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class CardClaims:
    member_id: str
    nonce: str
    expires_at: int


class UsedTokens(Protocol):
    def mark_used(self, nonce: str, ttl_seconds: int) -> bool:
        """Record the nonce; True only for the first call within ttl_seconds."""
        ...


def issue(member_id: str, *, secret: bytes, now: int, ttl: int = DEFAULT_TTL) -> tuple[str, int]:
    _check_secret(secret)
    if not isinstance(member_id, str) or not member_id:
        raise ValueError("member_id must be a non-empty string")
    encoded_id = member_id.encode("utf-8")
    if len(encoded_id) > MAX_MEMBER_ID_BYTES:
        raise ValueError(f"member_id is longer than {MAX_MEMBER_ID_BYTES} bytes")
    if not 0 < ttl <= MAX_TTL:
        raise ValueError(f"ttl must be between 1 and {MAX_TTL} seconds")
    expires_at = int(now) + ttl
    payload = _HEADER.pack(VERSION, expires_at) + os.urandom(NONCE_BYTES) + encoded_id
    return _b64encode(payload + _tag(secret, payload)), ttl


def verify(token: str, *, secret: bytes, now: int) -> CardClaims:
    _check_secret(secret)
    raw = _b64decode(token)
    if len(raw) <= _FIXED_BYTES + TAG_BYTES:
        raise CardTokenError("card_token.malformed")
    payload, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
    version, expires_at = _HEADER.unpack_from(payload)
    if version != VERSION:
        raise CardTokenError("card_token.malformed")
    if not hmac.compare_digest(tag, _tag(secret, payload)):
        raise CardTokenError("card_token.signature")
    # Signature before expiry: an altered token must be reported as forged, never as merely expired.
    if int(now) >= expires_at:
        raise CardTokenError("card_token.expired")
    nonce = payload[_HEADER.size : _FIXED_BYTES]
    member_id = payload[_FIXED_BYTES:].decode("utf-8")
    return CardClaims(member_id=member_id, nonce=nonce.hex(), expires_at=expires_at)


def redeem(token: str, *, secret: bytes, now: int, used: UsedTokens) -> CardClaims:
    claims = verify(token, secret=secret, now=now)
    remaining = claims.expires_at - int(now)
    if not used.mark_used(claims.nonce, remaining + USED_MARGIN_SECONDS):
        raise CardTokenError("card_token.used")
    return claims


def default_used_key(nonce: str) -> str:
    return f"unionhub:card_token:used:{nonce}"


class RedisUsedTokens:
    def __init__(self, redis_client, key_fn: Callable[[str], str] = default_used_key) -> None:
        self._redis = redis_client
        self._key_fn = key_fn

    def mark_used(self, nonce: str, ttl_seconds: int) -> bool:
        # SET NX is atomic, so two tills scanning the same screen at once cannot both succeed.
        return bool(self._redis.set(self._key_fn(nonce), 1, nx=True, ex=max(1, int(ttl_seconds))))


class InMemoryUsedTokens:
    """For unit tests and single-process tools; it is not shared between workers."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._forget_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def mark_used(self, nonce: str, ttl_seconds: int) -> bool:
        with self._lock:
            now = self._clock()
            self._forget_at = {n: t for n, t in self._forget_at.items() if t > now}
            if nonce in self._forget_at:
                return False
            self._forget_at[nonce] = now + max(1, int(ttl_seconds))
            return True


def _tag(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, _MAC_CONTEXT + payload, hashlib.sha256).digest()[:TAG_BYTES]


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"card token secret must be at least {MIN_SECRET_BYTES} bytes")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(token: str) -> bytes:
    # The stdlib decoder silently skips stray characters; refuse them so one token has one spelling.
    if not isinstance(token, str) or not _BASE64URL.fullmatch(token):
        raise CardTokenError("card_token.malformed")
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise CardTokenError("card_token.malformed") from None
