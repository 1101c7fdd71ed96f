"""Key material: loaded from settings, or for a local run generated once and kept under var/."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common import idempotency
from services.common.config import home

from .pii import KeyRing
from .settings import EnrolmentSettings

log = logging.getLogger(__name__)

# Each key: the setting that holds it and the variable that sets it.
REQUIRED = {
    "jwt_keys_file": "UNIONHUB_JWT_KEYS_FILE",
    "pii_keys": "UNIONHUB_PII_KEYS",
    "pii_hash_key": "UNIONHUB_PII_HASH_KEY",
    "card_token_secret": "UNIONHUB_CARD_TOKEN_SECRET",
}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey


@dataclass(frozen=True)
class Secrets:
    signing_keys: list[SigningKey]  # first signs; all are published in the JWKS
    pii: KeyRing
    pii_hash_key: bytes
    card_token_secret: bytes
    idempotency_key: bytes  # Idempotency-Key fingerprints (services/common/idempotency.py)


class MissingKeys(RuntimeError):
    pass


def _new_signing_key() -> dict:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kid": hashlib.sha256(raw).hexdigest()[:16], "pem": pem.decode()}


def _local_file(service: str) -> Path:
    return home() / service / "secrets.json"


def _generate_local(path: Path) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {
        "jwt_keys": [_new_signing_key()],
        "pii_keys": f"k1:{KeyRing.generate_key()}",
        "pii_hash_key": base64.b64encode(os.urandom(32)).decode(),
        "card_token_secret": base64.b64encode(os.urandom(32)).decode(),
    }
    # When processes start together (gunicorn's workers) exactly one set of keys must win, and no one
    # may read a half-written file: write a private temporary file whole, then link it into place;
    # link() fails when the file exists, and the loser reads the winner's complete file.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secrets-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(values, f)
        os.link(tmp, path)
    except FileExistsError:
        return json.loads(path.read_text())
    finally:
        os.unlink(tmp)
    # Keys nobody chose must not go unnoticed: a deployment that forgot to set them would otherwise
    # run, each replica with keys of its own.
    log.warning(
        "generated new local enrolment keys into %s: for a local quick start only; elsewhere set "
        "UNIONHUB_GENERATE_LOCAL_SECRETS=false and %s",
        path,
        ", ".join(REQUIRED.values()),
    )
    return values


def load(settings: EnrolmentSettings) -> Secrets:
    local = {}
    missing = [variable for name, variable in REQUIRED.items() if not getattr(settings, name)]
    if missing:
        if not settings.generate_local_secrets:
            raise MissingKeys(
                f"enrolment cannot start: {', '.join(missing)} not set, and "
                "UNIONHUB_GENERATE_LOCAL_SECRETS=false forbids generating local keys (set them from "
                "the secret store; deploy/k8s/secrets.example.yaml says how to make each)"
            )
        path = _local_file(settings.service)
        local = json.loads(path.read_text()) if path.exists() else _generate_local(path)
    jwt_keys = (
        json.loads(Path(settings.jwt_keys_file).read_text()) if settings.jwt_keys_file else local["jwt_keys"]
    )
    pii_hash_key = base64.b64decode(settings.pii_hash_key or local["pii_hash_key"])
    return Secrets(
        signing_keys=[
            SigningKey(k["kid"], serialization.load_pem_private_key(k["pem"].encode(), password=None))
            for k in jwt_keys
        ],
        pii=KeyRing.from_string(settings.pii_keys or local["pii_keys"]),
        pii_hash_key=pii_hash_key,
        card_token_secret=base64.b64decode(settings.card_token_secret or local["card_token_secret"]),
        # Its own secret when the deployment gives one; otherwise a subkey of the blind-index key,
        # which every deployment already keeps safe and never rotates, so nothing new to provision.
        idempotency_key=(
            base64.b64decode(settings.idempotency_key_secret)
            if settings.idempotency_key_secret
            else idempotency.derive_secret(pii_hash_key)
        ),
    )
