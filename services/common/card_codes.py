"""The member card's rotating code: its format, and checking and redeeming it offline.

Enrolment issues the codes (services/enrolment/card_token.py holds the private keys) and publishes
the public keys at ``KEYS_PATH``; a till checks a scanned code with those keys, with no call to
enrolment and no shared secret, so cards keep working while enrolment is down. A code lives about a
minute and is accepted once across every till, so a screenshot passed around a WeChat group cannot
be used to claim member discounts. Issuing writes nothing; redeeming costs one Redis SET NX.

Layout, then base32: version (1) | key id (4) | expires_at (4, big-endian) | nonce (16) |
member id (16, the UUID's bytes) | Ed25519 signature (64) = 105 bytes, 168 characters (a multiple of
5 bytes: no padding and no spare bits, so one code has one spelling). Base32's alphabet lies within
the QR alphanumeric mode (5.5 bits a character where base64url needs byte mode's 8), so at error
correction M (services/common/qr.py) the symbol is version 7, 45x45 modules, where base64url would
need version 8 (49x49): small enough to scan from a cracked phone screen.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

log = logging.getLogger(__name__)

KEYS_PATH = "/.well-known/card-keys.json"

VERSION = 2  # 1 was HMAC-signed under a secret only enrolment held; such codes are malformed here
KEY_ID_BYTES = 4
NONCE_BYTES = 16
SIGNATURE_BYTES = 64
_HEADER = struct.Struct(">B4sI")  # version, key id, expires_at
_PAYLOAD_BYTES = _HEADER.size + NONCE_BYTES + 16  # and the member id, a UUID
_RAW_BYTES = _PAYLOAD_BYTES + SIGNATURE_BYTES
TOKEN_LENGTH = len(base64.b32encode(bytes(_RAW_BYTES)).rstrip(b"="))
_BASE32 = re.compile(r"[A-Z2-7]+")
# RFC 4648's base32 alphabet spelled as the digits int(..., 32) reads (0-9, A-V): a code decodes in C,
# 1.5 µs against 11.7 for base64.b32decode, which is pure Python (docs/benchmarks.md).
_AS_BASE32_DIGITS = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHIJKLMNOPQRSTUV")

# Signed ahead of the payload, so a signature these keys made for any other purpose never verifies
# as a card code.
_CONTEXT = b"unionhub.card_code\x00"

# Used nonces are kept a little past expiry: servers' clocks drift, and a nonce forgotten by Redis
# while another server still thinks the code is live could be replayed.
USED_MARGIN_SECONDS = 5


def used_key(nonce: str) -> str:
    # Not in a service's keys module like every other Redis key: each service that redeems card
    # codes (enrolment's POST /api/v1/card-tokens/redeem, merchants' tills) must mark this one name in
    # the one Redis they share, or a code redeemed at one would still pass at the other.
    return f"unionhub:card_token:used:{nonce}"


class CardTokenError(ValueError):
    """``code`` is card_token.malformed, .signature (altered, or not signed by a published key),
    .expired or .used."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class CardClaims:
    member_id: str
    nonce: str  # hex
    expires_at: int


class PublicKeys(Protocol):
    """Public card keys by key id: a plain dict, or ``CardKeys``."""

    def get(self, kid: str) -> Ed25519PublicKey | None: ...


class UsedTokens(Protocol):
    def mark_used(self, nonce: str, ttl_seconds: int) -> bool:
        """Record the nonce; True only for the first call within ttl_seconds."""
        ...


def key_id(public_key: Ed25519PublicKey) -> str:
    """A key's id, derived from the key itself so a token's id and the published one cannot disagree."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:KEY_ID_BYTES].hex()


def encode(*, kid: str, expires_at: int, nonce: bytes, member_id: str, sign: Callable[[bytes], bytes]) -> str:
    """A code for ``member_id`` (a UUID, as enrolment spells its ids); ``sign`` holds the private key,
    which never comes here."""
    if not _is_uuid(member_id):
        raise ValueError("member_id must be a UUID in its canonical spelling")
    # struct would silently cut or pad a key id or nonce of the wrong size into a code nobody can check.
    if len(bytes.fromhex(kid)) != KEY_ID_BYTES or len(nonce) != NONCE_BYTES:
        raise ValueError(f"a key id is {KEY_ID_BYTES} bytes and a nonce {NONCE_BYTES}")
    payload = _HEADER.pack(VERSION, bytes.fromhex(kid), expires_at) + nonce + uuid.UUID(member_id).bytes
    return base64.b32encode(payload + sign(_CONTEXT + payload)).decode("ascii").rstrip("=")


def verify(token: object, keys: PublicKeys, *, now: int) -> CardClaims:
    """The claims of a genuine, unexpired code; raises CardTokenError, or card_keys.CardKeysUnavailable."""
    raw = _decode(token)
    payload, signature = raw[:_PAYLOAD_BYTES], raw[_PAYLOAD_BYTES:]
    version, kid, expires_at = _HEADER.unpack_from(payload)
    if version != VERSION:
        raise CardTokenError("card_token.malformed")
    public_key = keys.get(kid.hex())
    if public_key is None:
        raise CardTokenError("card_token.signature")
    try:
        public_key.verify(signature, _CONTEXT + payload)
    except InvalidSignature:
        raise CardTokenError("card_token.signature") from None
    # Signature before expiry: an altered code must be reported as forged, never as merely expired.
    if int(now) >= expires_at:
        raise CardTokenError("card_token.expired")
    nonce = payload[_HEADER.size : _HEADER.size + NONCE_BYTES]
    member_id = uuid.UUID(bytes=payload[_HEADER.size + NONCE_BYTES :])
    return CardClaims(member_id=str(member_id), nonce=nonce.hex(), expires_at=expires_at)


def claimed_member_id(token: object) -> str | None:
    """The member id a code names, NOT checked: for reading that member's row in the same round trip
    as the rest of a request's reads, before ``verify``. Nothing may be decided on it until ``verify``
    passes (which reads the id from the same bytes). None when the code is malformed."""
    try:
        raw = _decode(token)
    except CardTokenError:
        return None
    return str(uuid.UUID(bytes=raw[_HEADER.size + NONCE_BYTES : _PAYLOAD_BYTES]))


def redeem(token: object, keys: PublicKeys, *, now: int, used: UsedTokens) -> CardClaims:
    """``verify``, then accept the code once: a second redemption anywhere is card_token.used."""
    claims = verify(token, keys, now=now)
    spend(claims, now=now, used=used)
    return claims


def spend(claims: CardClaims, *, now: int, used: UsedTokens) -> None:
    """Accept a verified code once, across every till and service; for a caller that checks what
    else it must (the member's status) first, so a refusal or an outage leaves the code unspent."""
    if not used.mark_used(claims.nonce, claims.expires_at - int(now) + USED_MARGIN_SECONDS):
        raise CardTokenError("card_token.used")


class RedisUsedTokens:
    def __init__(self, redis_client) -> None:
        self._redis = redis_client

    def mark_used(self, nonce: str, ttl_seconds: int) -> bool:
        # SET NX is atomic, so two tills scanning the same screen at once cannot both succeed.
        return bool(self._redis.set(used_key(nonce), 1, nx=True, ex=max(1, int(ttl_seconds))))


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


# --- the published keys ---------------------------------------------------------------------------


def public_jwk(public_key: Ed25519PublicKey) -> dict:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": key_id(public_key), "alg": "EdDSA", "use": "sig"}


def jwks_keys(document: object) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 keys of a JWKS by key id; other entries are skipped. ValueError when none is left."""
    entries = document.get("keys") if isinstance(document, dict) else None
    keys = {}
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict) or (entry.get("kty"), entry.get("crv")) != ("OKP", "Ed25519"):
            continue
        try:
            x = entry["x"]
            public_key = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
        except (KeyError, TypeError, ValueError):
            continue
        # A key published under another key's id would let codes name a key they were not signed with.
        if entry.get("kid") == key_id(public_key):
            keys[entry["kid"]] = public_key
    if not keys:
        raise ValueError("no Ed25519 card keys in the key set")
    return keys


def _is_uuid(value: object) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _decode(token: object) -> bytes:
    # The length is fixed, so anything else is refused before any work.
    if not isinstance(token, str) or len(token) != TOKEN_LENGTH or not _BASE32.fullmatch(token):
        raise CardTokenError("card_token.malformed")
    # TOKEN_LENGTH × 5 bits are _RAW_BYTES bytes exactly; the fixed length keeps leading zero bytes.
    return int(token.translate(_AS_BASE32_DIGITS), 32).to_bytes(_RAW_BYTES, "big")
