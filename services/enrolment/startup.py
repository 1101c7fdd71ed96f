"""What enrolment builds once per web process: its keys, the token issuer, and the bootstrap admin."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.auth import TokenVerifier
from services.common.db import SCHEMA_LOCK_KEY, Database
from services.common.kit import Started
from services.common.sql import xact_lock

from . import accounts, secrets, service
from .card_token import CardIssuer
from .service import PiiKeys
from .settings import EnrolmentSettings
from .tokens import Issuer

ROOT_UNIT_NAME = "贵州省总工会"


@dataclass
class Enrolment:
    settings: EnrolmentSettings
    secrets: secrets.Secrets
    issuer: Issuer
    pii_keys: PiiKeys
    cards: CardIssuer


def start(settings: EnrolmentSettings, db: Database) -> Started:
    loaded = secrets.load(settings)
    issuer = Issuer(loaded.signing_keys, settings.jwt_issuer, settings.access_token_ttl)
    if settings.admin_password:
        with db.unit_of_work() as uow:
            # Web workers start together: one creates the root and the admin, the others wait and
            # find them.
            xact_lock(uow.connection, SCHEMA_LOCK_KEY)
            root = service.ensure_root(uow.connection, ROOT_UNIT_NAME)
            accounts.ensure_bootstrap_admin(uow.connection, settings.admin_password, root)
            uow.commit()
    return Started(
        extension=Enrolment(
            settings, loaded, issuer, PiiKeys(loaded.pii, loaded.pii_hash_key), CardIssuer(loaded.card_keys)
        ),
        # Enrolment issues the tokens: it verifies them with its own keys, not over HTTP.
        verifier=TokenVerifier(issuer, settings.jwt_issuer),
    )
