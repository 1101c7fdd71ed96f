"""Enrolment: branches, QR campaigns, real-name joining, member cards, logins and the JWKS."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy import text

from services.common import i18n
from services.common.auth import TokenVerifier
from services.common.db import SCHEMA_LOCK_KEY
from services.common.web import create_service_app

from . import secrets, service
from .api import BLUEPRINTS
from .db import build_database
from .messages import MESSAGES
from .service import Keys
from .settings import EnrolmentSettings
from .tokens import Issuer

ROOT_UNIT_NAME = "贵州省总工会"


@dataclass
class Enrolment:
    settings: EnrolmentSettings
    secrets: secrets.Secrets
    issuer: Issuer
    keys: Keys


def create_app(config: dict | None = None) -> Flask:
    config = dict(config or {})
    settings = config.pop("SETTINGS", None) or EnrolmentSettings.from_env("enrolment")
    i18n.register(MESSAGES)
    keys = secrets.load(settings)
    issuer = Issuer(keys.signing_keys, settings.jwt_issuer, settings.access_token_ttl)
    db = build_database(settings)
    db.create_all()
    if settings.admin_password:
        with db.unit_of_work() as uow:
            if uow.connection.dialect.name == "postgresql":
                # Web workers start together: one creates the root and the admin, the others wait and
                # find them (SQLite's BEGIN IMMEDIATE serialises this already).
                uow.connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            service.ensure_bootstrap_admin(
                uow, settings.admin_password, service.ensure_root(uow, ROOT_UNIT_NAME)
            )
            uow.commit()
    app = create_service_app(
        settings,
        db,
        TokenVerifier(issuer, settings.jwt_issuer),
        title="UnionHub enrolment",
        blueprints=BLUEPRINTS,
        config=config,
    )
    app.extensions["enrolment"] = Enrolment(settings, keys, issuer, Keys(keys.pii, keys.pii_hash_key))
    return app
