"""What stations builds once per web process: the poster code signer, the pickup code key, the
client that asks enrolment where a branch sits. It also brings the finder's Redis projection to this
version's shape (finder.upgrade), so open-now searches take the quick way from the first request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass

import redis

from services.common.db import Database
from services.common.idempotency import derive_secret
from services.common.kit import Started
from services.common.local_secrets import secret
from services.common.signed_codes import CodeSigner
from services.common.units import Units

from . import finder
from .settings import StationsSettings

log = logging.getLogger(__name__)


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
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        finder.upgrade(client)
    except redis.RedisError:
        # Until it is done the finder searches without the new sets, which is slower but answers the
        # same; the worker's upgrade_finder job retries every minute.
        log.warning("finder projection not upgraded at start; the worker will", exc_info=True)
    finally:
        client.close()
    return Started(extension=build(settings))
