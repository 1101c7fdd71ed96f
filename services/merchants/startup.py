"""What merchants builds once per web process: the card checker, enrolment's clients, the till's rules."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from services.common.db import Database
from services.common.idempotency import derive_secret
from services.common.kit import Started
from services.common.local_secrets import secret
from services.common.units import Units

from . import cards
from .cards import Cards
from .logins import Logins
from .settings import MerchantsSettings


@dataclass
class Merchants:
    settings: MerchantsSettings
    cards: Cards
    units: Units
    logins: Logins
    idempotency_secret: bytes


def start(settings: MerchantsSettings, db: Database) -> Started:
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    return Started(
        extension=Merchants(
            settings,
            cards.from_settings(settings, client),
            Units(settings.enrolment_url),
            Logins(settings.enrolment_url),
            derive_secret(secret(settings, "idempotency_key_secret")),
        )
    )
