"""Enrolment's settings: the common ones plus keys, token lifetimes and the WeChat endpoint."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.config import Settings


@dataclass(frozen=True)
class EnrolmentSettings(Settings):
    # Secrets. Left empty, a local run generates them once into <UNIONHUB_HOME>/enrolment/secrets.json;
    # production sets them from its secret store.
    jwt_keys_file: str = ""  # JSON list of {"kid", "pem"}; the first signs, all are published
    pii_keys: str = ""  # "k2:base64,k1:base64": AES-256-GCM keys, first is current (rotation)
    pii_hash_key: str = ""  # base64, for keyed hashes of ID numbers
    card_token_secret: str = ""  # base64, signs the rotating card codes
    admin_password: str = ""  # the bootstrap federation admin's password (username "admin")
    # Production sets this false: each replica generating its own keys would reject the others' tokens.
    generate_local_secrets: bool = True

    access_token_ttl: int = 900  # seconds; access tokens are short-lived
    card_token_ttl: int = 60
    consent_version: str = "2026-01"
    card_province: str = "52"  # Guizhou
    wechat_code2session_url: str = "http://127.0.0.1:8199/sns/jscode2session"
    wechat_appid: str = "wx-local-dev"
    wechat_secret: str = "local-dev-secret"
    login_limit_per_minute: int = 10
    join_limit_per_hour: int = 20


SETTINGS = EnrolmentSettings
