"""A service's own secrets (code signing keys): from its settings, or generated for a local run.

Outside the local quick start every secret comes from the deployment's secret store, and a missing
one stops start-up with the variable to set. Locally a secret nobody set is generated once into
``<UNIONHUB_HOME>/<service>/secrets.json`` and kept, so codes printed yesterday still verify.
"""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import os
import tempfile

from .config import Settings, home

log = logging.getLogger(__name__)


class MissingSecret(RuntimeError):
    pass


def secret(settings: Settings, name: str) -> bytes:
    """The secret held by setting ``name`` (base64), or the local one; at least 32 bytes."""
    configured = getattr(settings, name)
    if configured:
        value = base64.b64decode(configured)
    elif settings.generate_local_secrets:
        value = base64.b64decode(_local(settings.service, name))
    else:
        raise MissingSecret(
            f"{settings.service} cannot start: UNIONHUB_{name.upper()} is not set, and "
            "UNIONHUB_GENERATE_LOCAL_SECRETS=false forbids generating it (set it from the secret "
            "store: 32 random bytes, base64)"
        )
    if len(value) < 32:
        raise MissingSecret(f"UNIONHUB_{name.upper()} must be at least 32 bytes (base64)")
    return value


def _local(service: str, name: str) -> str:
    path = home() / service / "secrets.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Web workers start together: one lock around read-add-write, so exactly one value wins, and a
    # whole file is renamed into place, so nobody reads half of one.
    with open(path.parent / ".secrets.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        values = json.loads(path.read_text()) if path.exists() else {}
        if name not in values:
            values[name] = base64.b64encode(os.urandom(32)).decode()
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secrets-")  # mode 0600
            with os.fdopen(fd, "w") as f:
                json.dump(values, f)
            os.replace(tmp, path)
            log.warning(
                "generated a local %s secret %s into %s: for a local quick start only", service, name, path
            )
        return values[name]
