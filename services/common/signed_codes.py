"""Codes a service prints into a QR and later verifies itself: course tickets, station posters.

The service that issues a code is the one that checks it, so an HMAC under the service's own secret
is enough (member card codes differ: a till checks them without enrolment, so they are signed with
a public key, services/common/card_codes.py). Each kind of code has its own purpose string mixed
into the tag, so a ticket never verifies as a station code or the other way round.

Layout: ``<prefix>.<payload base64url>.<tag base64url>``. The prefix names the kind (and version)
for people reading a scan log; the tag covers it too. A payload is a few short fields joined by
":" (ids and a generation number), kept small so the QR stays scannable from a poster across a room.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

TAG_BYTES = 16
MAX_CODE_LENGTH = 200  # bigger than any code we issue; a longer input is refused unread
_PART = re.compile(r"[A-Za-z0-9_-]+")


class SignedCodeError(ValueError):
    """``code`` is "malformed" (not one of ours) or "signature" (altered or signed by another key)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class CodeSigner:
    def __init__(self, secret: bytes, *, purpose: str, prefix: str):
        if len(secret) < 32:
            raise ValueError("a code signing secret must be at least 32 bytes")
        self._key = hmac.new(secret, f"unionhub.signed_code:{purpose}".encode(), hashlib.sha256).digest()
        self.prefix = prefix

    def sign(self, *fields: str) -> str:
        if any(":" in f for f in fields):
            raise ValueError("a field of a signed code may not contain ':'")
        payload = _encode(":".join(fields).encode())
        return f"{self.prefix}.{payload}.{_encode(self._tag(payload))}"

    def verify(self, code: object) -> list[str]:
        """The fields signed into ``code``; raises SignedCodeError for anything else."""
        if not isinstance(code, str) or len(code) > MAX_CODE_LENGTH:
            raise SignedCodeError("malformed")
        parts = code.strip().split(".")
        if len(parts) != 3 or parts[0] != self.prefix or not all(_PART.fullmatch(p) for p in parts[1:]):
            raise SignedCodeError("malformed")
        payload, tag = parts[1], _decode(parts[2])
        if not hmac.compare_digest(tag, self._tag(payload)):
            raise SignedCodeError("signature")
        return _decode(payload).decode().split(":")

    def _tag(self, payload: str) -> bytes:
        return hmac.new(self._key, f"{self.prefix}.{payload}".encode(), hashlib.sha256).digest()[:TAG_BYTES]


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise SignedCodeError("malformed") from None
