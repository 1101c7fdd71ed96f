"""What stations builds once per web process: the poster code signer, the pickup code key, the
client that asks enrolment where a branch sits."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from services.common.db import Database
from services.common.idempotency import derive_secret
from services.common.kit import Started
from services.common.local_secrets import secret
from services.common.signed_codes import CodeSigner
from services.common.units import Units

from .settings import StationsSettings


@dataclass
class Stations:
    settings: StationsSettings
    signer: CodeSigner
    units: Units
    pickup_key: bytes  # keys the hashes of locker pickup codes
    idempotency_secret: bytes


def build(settings: StationsSettings) -> Stations:
    material = secret(settings, "code_secret")
    return Stations(
        settings=settings,
        signer=CodeSigner(material, purpose="station-checkin", prefix="UHS1"),
        units=Units(settings.enrolment_url),
        pickup_key=hmac.new(material, b"unionhub/stations/pickup-code/v1", hashlib.sha256).digest(),
        idempotency_secret=(
            base64.b64decode(settings.idempotency_key_secret)
            if settings.idempotency_key_secret
            else derive_secret(material)
        ),
    )


def start(settings: StationsSettings, db: Database) -> Started:
    return Started(extension=build(settings))
