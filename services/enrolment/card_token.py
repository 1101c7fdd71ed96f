"""Issuing the rotating code on a member's digital card, which merchant till staff scan.

Only enrolment holds the card-signing private keys; the format, checking and single use are in
services/common/card_codes.py, shared with the tills that check codes offline against the public
keys enrolment publishes (api/jwks.py).
"""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common import card_codes

DEFAULT_TTL = 60
MAX_TTL = 600


class CardIssuer:
    """The card-signing key ring: the first key signs and every key is published, so a new key can go
    first while codes the old one signed, still on screens for a minute, keep verifying."""

    def __init__(self, keys: list[Ed25519PrivateKey]):
        self.public_keys = {card_codes.key_id(k.public_key()): k.public_key() for k in keys}
        if not keys or len(self.public_keys) != len(keys):
            raise ValueError("card keys: at least one, each with a key id of its own")
        self._signer = keys[0]
        self._kid = card_codes.key_id(keys[0].public_key())

    def issue(self, member_id: str, *, now: int, ttl: int = DEFAULT_TTL) -> tuple[str, int]:
        if not 0 < ttl <= MAX_TTL:
            raise ValueError(f"ttl must be between 1 and {MAX_TTL} seconds")
        token = card_codes.encode(
            kid=self._kid,
            expires_at=int(now) + ttl,
            nonce=os.urandom(card_codes.NONCE_BYTES),
            member_id=member_id,
            sign=self._signer.sign,
        )
        return token, ttl

    def jwks(self) -> dict:
        return {"keys": [card_codes.public_jwk(k) for k in self.public_keys.values()]}
