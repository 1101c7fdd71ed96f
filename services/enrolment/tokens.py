"""Issuing access tokens (EdDSA JWTs) and publishing the public keys as a JWKS."""

from __future__ import annotations

import json
import time
import uuid

import jwt
from jwt.algorithms import OKPAlgorithm

from services.common.auth import AUDIENCE, KeyNotFound

from .secrets import SigningKey


class Issuer:
    def __init__(self, keys: list[SigningKey], issuer: str, ttl_seconds: int):
        self.keys = keys
        self.issuer = issuer
        self.ttl_seconds = ttl_seconds
        # Derived once, and the same object every time: the verifier keeps the tokens it checked
        # lately with the key they passed and takes one again without the Ed25519 check only while
        # key(kid) is still that key (services/common/auth.py). Derived on every call, it never was,
        # and every request to enrolment checked its token in full (docs/benchmarks.md, "Mixed load").
        self._public = {k.kid: k.private_key.public_key() for k in keys}

    def issue(self, subject: str, roles: list[str], **scopes) -> tuple[str, int]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
            "roles": roles,
            **{k: v for k, v in scopes.items() if v not in (None, [], ())},
        }
        signer = self.keys[0]
        token = jwt.encode(claims, signer.private_key, algorithm="EdDSA", headers={"kid": signer.kid})
        return token, self.ttl_seconds

    def jwks(self) -> dict:
        keys = []
        for k in self.keys:
            jwk = json.loads(OKPAlgorithm.to_jwk(k.private_key.public_key()))
            keys.append({**jwk, "kid": k.kid, "alg": "EdDSA", "use": "sig"})
        return {"keys": keys}

    # The issuer verifies its own tokens with the same public keys it publishes.
    def key(self, kid: str):
        try:
            return self._public[kid]
        except KeyError:
            raise KeyNotFound(kid) from None
