"""Key material: loaded from settings, or for a local run generated once and kept under var/."""

from __future__ import annotations

import base64
import fcntl
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
    "card_keys": "UNIONHUB_CARD_KEYS",
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
    # First signs the member card codes; all are published at /.well-known/card-keys.json. Never a
    # JWT key: a card code must not verify as an access token, nor the other way round.
    card_keys: list[Ed25519PrivateKey]
    idempotency_key: bytes  # Idempotency-Key fingerprints (services/common/idempotency.py)


class MissingKeys(RuntimeError):
    pass


def _raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _new_signing_key() -> dict:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return {"kid": hashlib.sha256(_raw_public(key)).hexdigest()[:16], "pem": pem.decode()}


def _local_file(service: str) -> Path:
    return home() / service / "secrets.json"


def new_key_material() -> dict:
    """A fresh set of enrolment's keys, as the local file and ``unionhub keys new`` hold them."""
    return {
        "jwt_keys": [_new_signing_key()],
        "pii_keys": f"k1:{KeyRing.generate_key()}",
        "pii_hash_key": base64.b64encode(os.urandom(32)).decode(),
        "card_keys": base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode(),
    }


# The other services' own secrets, which compose passes to each as UNIONHUB_<SETTING>: courses and
# stations sign their printed codes (tickets, station posters); merchants keys its Idempotency-Key
# fingerprints. `keys new` writes them too, so one env file starts the whole stack.
SERVICE_SECRETS = (
    ("courses", "code_secret"),
    ("stations", "code_secret"),
    ("merchants", "idempotency_key_secret"),
)


def write_key_files(directory: Path) -> tuple[Path, Path]:
    """New keys for a deployment that passes them in: ``jwt_keys.json`` for UNIONHUB_JWT_KEYS_FILE
    (Kubernetes mounts it from a Secret) and ``keys.env`` with every key as a variable (compose's
    --env-file). Both private, never overwritten: replacing keys in use would lock every member out
    of their encrypted data."""
    directory.mkdir(parents=True, exist_ok=True)
    values = new_key_material()
    jwt_file, env_file = directory / "jwt_keys.json", directory / "keys.env"
    lines = [
        f"UNIONHUB_PII_KEYS={values['pii_keys']}",
        f"UNIONHUB_PII_HASH_KEY={values['pii_hash_key']}",
        f"UNIONHUB_CARD_KEYS={values['card_keys']}",
        *(
            f"UNIONHUB_{service.upper()}_{setting.upper()}={base64.b64encode(os.urandom(32)).decode()}"
            for service, setting in SERVICE_SECRETS
        ),
        # Single-quoted: an env file takes it literally, one line with the PEMs' newlines escaped.
        f"UNIONHUB_JWT_KEYS='{json.dumps(values['jwt_keys'])}'",
    ]
    for path, text in ((jwt_file, json.dumps(values["jwt_keys"])), (env_file, "\n".join(lines) + "\n")):
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(text)
    return jwt_file, env_file


def _local_keys(path: Path) -> dict:
    """The local quick start's keys, generating whatever the file lacks: all of them on the first
    start, and later a kind of key a newer release added, so an existing local set keeps working."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # When processes start together (gunicorn's workers) exactly one set of keys must win, and no one
    # may read a half-written file: one lock around read-add-write, and a whole file renamed into
    # place.
    with open(path.parent / ".secrets.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        values = json.loads(path.read_text()) if path.exists() else {}
        added = {name: value for name, value in new_key_material().items() if name not in values}
        if not added:
            return values
        values.update(added)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secrets-")  # mode 0600
        with os.fdopen(fd, "w") as f:
            json.dump(values, f)
        os.replace(tmp, path)
    # Keys nobody chose must not go unnoticed: a deployment that forgot to set them would otherwise
    # run, each replica with keys of its own.
    log.warning(
        "generated new local enrolment keys (%s) into %s: for a local quick start only; elsewhere set "
        "UNIONHUB_GENERATE_LOCAL_SECRETS=false and %s",
        ", ".join(added),
        path,
        ", ".join(REQUIRED.values()),
    )
    return values


def _card_keys(ring: str) -> list[Ed25519PrivateKey]:
    try:
        return [Ed25519PrivateKey.from_private_bytes(base64.b64decode(k)) for k in ring.split(",")]
    except ValueError:
        raise ValueError("UNIONHUB_CARD_KEYS: comma-separated Ed25519 keys, 32 bytes each, base64") from None


def load(settings: EnrolmentSettings) -> Secrets:
    local = {}
    missing = [
        variable
        for name, variable in REQUIRED.items()
        if not getattr(settings, name) and not (name == "jwt_keys_file" and settings.jwt_keys)
    ]
    if missing:
        if not settings.generate_local_secrets:
            raise MissingKeys(
                f"enrolment cannot start: {', '.join(missing)} not set, and "
                "UNIONHUB_GENERATE_LOCAL_SECRETS=false forbids generating local keys (set them from "
                "the secret store; deploy/k8s/secrets.example.yaml says how to make each)"
            )
        local = _local_keys(_local_file(settings.service))
    if settings.jwt_keys:
        jwt_keys = json.loads(settings.jwt_keys)
    elif settings.jwt_keys_file:
        jwt_keys = json.loads(Path(settings.jwt_keys_file).read_text())
    else:
        jwt_keys = local["jwt_keys"]
    pii_hash_key = base64.b64decode(settings.pii_hash_key or local["pii_hash_key"])
    signing_keys = [
        SigningKey(k["kid"], serialization.load_pem_private_key(k["pem"].encode(), password=None))
        for k in jwt_keys
    ]
    card_keys = _card_keys(settings.card_keys or local["card_keys"])
    if {_raw_public(k.private_key) for k in signing_keys} & {_raw_public(k) for k in card_keys}:
        raise ValueError("UNIONHUB_CARD_KEYS holds a JWT signing key: card codes need keys of their own")
    return Secrets(
        signing_keys=signing_keys,
        pii=KeyRing.from_string(settings.pii_keys or local["pii_keys"]),
        pii_hash_key=pii_hash_key,
        card_keys=card_keys,
        # Its own secret when the deployment gives one; otherwise a subkey of the blind-index key,
        # which every deployment already keeps safe and never rotates, so nothing new to provision.
        idempotency_key=(
            base64.b64decode(settings.idempotency_key_secret)
            if settings.idempotency_key_secret
            else idempotency.derive_secret(pii_hash_key)
        ),
    )
