"""Protection of members' personal information (PIPL, 个人信息保护法).

Resident ID numbers and mobiles are stored encrypted with AES-256-GCM. The associated data binds a
ciphertext to its place (for example b"member:42:resident_id"), so a value copied into another
member's row or another column fails to decrypt instead of silently becoming that member's data.

Duplicate checks ("is this ID number already a member?") use a blind index: a keyed HMAC that can
be compared for equality but, unlike a plain hash, cannot be reversed by hashing every possible ID
number, because the 18-digit space with its fixed birth dates and region codes is small.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
MIN_HASH_KEY_BYTES = 32

_KEY_ID = re.compile(r"[A-Za-z0-9_.-]+")
_WHITESPACE = re.compile(r"\s+")


class KeyRingError(ValueError):
    pass


class DecryptionError(ValueError):
    pass


class KeyRing:
    """Encryption keys by id; the first is current, the rest only decrypt until rotation is done."""

    def __init__(self, keys: Mapping[str, bytes], current_kid: str) -> None:
        if current_kid not in keys:
            raise KeyRingError(f"current key {current_kid!r} is not in the key ring")
        for kid, key in keys.items():
            if not _KEY_ID.fullmatch(kid):
                raise KeyRingError(f"key id {kid!r} may only use letters, digits, '_', '.' and '-'")
            if len(key) != KEY_BYTES:
                raise KeyRingError(f"key {kid!r} must be {KEY_BYTES} bytes, got {len(key)}")
        self._keys = MappingProxyType(dict(keys))
        self._current_kid = current_kid

    @classmethod
    def from_string(cls, spec: str) -> KeyRing:
        """Parse "k2:BASE64KEY,k1:BASE64KEY" as found in configuration."""
        keys: dict[str, bytes] = {}
        for entry in spec.split(","):
            kid, sep, encoded = entry.strip().partition(":")
            if not sep or not kid or not encoded:
                raise KeyRingError("key ring entries must look like 'kid:base64key'")
            if kid in keys:
                raise KeyRingError(f"key id {kid!r} appears twice")
            keys[kid] = _decode_key(kid, encoded)
        current_kid = next(iter(keys))
        return cls(keys, current_kid)

    @staticmethod
    def generate_key() -> str:
        return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")

    @property
    def current_kid(self) -> str:
        return self._current_kid

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def key(self, kid: str) -> bytes:
        try:
            return self._keys[kid]
        except KeyError:
            raise DecryptionError(f"no key {kid!r} in the key ring") from None

    def __repr__(self) -> str:
        # Key rings end up in logs and tracebacks; only the ids are safe to show.
        return f"KeyRing(current={self._current_kid!r}, kids={list(self._keys)!r})"


def encrypt(keyring: KeyRing, plaintext: str, *, associated_data: bytes) -> str:
    kid = keyring.current_kid
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keyring.key(kid)).encrypt(nonce, plaintext.encode("utf-8"), associated_data)
    return f"{kid}:{_b64encode(nonce + sealed)}"


def decrypt(keyring: KeyRing, token: str, *, associated_data: bytes) -> str:
    kid, blob = _split(token)
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise DecryptionError("ciphertext is too short")
    nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    try:
        plaintext = AESGCM(keyring.key(kid)).decrypt(nonce, sealed, associated_data)
    except InvalidTag:
        raise DecryptionError("ciphertext was altered or belongs to other associated data") from None
    return plaintext.decode("utf-8")


def needs_rotation(keyring: KeyRing, token: str) -> bool:
    kid, _ = _split(token)
    return kid != keyring.current_kid


def reencrypt(keyring: KeyRing, token: str, *, associated_data: bytes) -> str:
    if not needs_rotation(keyring, token):
        return token
    plaintext = decrypt(keyring, token, associated_data=associated_data)
    return encrypt(keyring, plaintext, associated_data=associated_data)


def blind_index(hash_key: bytes, value: str) -> str:
    # Use a key of its own, not one of the encryption keys: the index must stay stable when the
    # encryption keys rotate, or every stored index would need recomputing.
    if len(hash_key) < MIN_HASH_KEY_BYTES:
        raise ValueError(f"blind index key must be at least {MIN_HASH_KEY_BYTES} bytes")
    return hmac.new(hash_key, normalise_for_index(value).encode("utf-8"), hashlib.sha256).hexdigest()


def normalise_for_index(value: str) -> str:
    # "52010219900307123x" and "52010219900307123X" are the same person; so are full-width digits.
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", value)).upper()


def _split(token: str) -> tuple[str, bytes]:
    kid, sep, encoded = token.partition(":")
    if not sep or not kid:
        raise DecryptionError("ciphertext must look like 'kid:base64'")
    try:
        return kid, _b64decode(encoded)
    except (binascii.Error, ValueError):
        raise DecryptionError("ciphertext is not valid base64") from None


def _decode_key(kid: str, encoded: str) -> bytes:
    try:
        key = _b64decode(encoded)
    except (binascii.Error, ValueError):
        raise KeyRingError(f"key {kid!r} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise KeyRingError(f"key {kid!r} must decode to {KEY_BYTES} bytes, got {len(key)}")
    return key


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    # Accept both alphabets and missing padding: keys are pasted by hand into secret stores.
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
