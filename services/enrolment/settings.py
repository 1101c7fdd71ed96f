"""Enrolment's settings: the common ones plus keys, token lifetimes, and the WeChat and identity
provider endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.config import Settings


@dataclass(frozen=True)
class EnrolmentSettings(Settings):
    # Secrets. Left empty, a local run generates them once into <UNIONHUB_HOME>/enrolment/secrets.json;
    # production sets them from its secret store.
    jwt_keys_file: str = ""  # JSON list of {"kid", "pem"}; the first signs, all are published
    jwt_keys: str = ""  # the same JSON list inline, where a file cannot be mounted readably (compose)
    pii_keys: str = ""  # "k2:base64,k1:base64": AES-256-GCM keys, first is current (rotation)
    pii_hash_key: str = ""  # base64, for keyed hashes of ID numbers
    # "base64,base64": Ed25519 private keys (32 bytes each) for the rotating card codes; the first
    # signs, all are published for the tills. Their own keys: never the JWT signing keys.
    card_keys: str = ""
    admin_password: str = ""  # the bootstrap federation admin's password (username "admin")

    access_token_ttl: int = 900  # seconds; access tokens are short-lived
    card_token_ttl: int = 60
    consent_version: str = "2026-01"
    card_province: str = "52"  # Guizhou
    wechat_code2session_url: str = "http://127.0.0.1:8199/sns/jscode2session"
    wechat_appid: str = "wx-local-dev"
    wechat_secret: str = "local-dev-secret"
    login_limit_per_minute: int = 10
    join_limit_per_hour: int = 20
    redeem_limit_per_minute: int = 600  # card codes per till login, as merchants' till counts them

    # The identity provider: 二要素 (name + resident ID) checks and SMS delivery. Locally the fake in
    # services/fakes/identity.py; production points these at the contracted provider.
    identity_verify_url: str = "http://127.0.0.1:8198/identity/verify"
    sms_send_url: str = "http://127.0.0.1:8198/sms/send"
    identity_appid: str = "identity-local-dev"
    identity_secret: str = "local-dev-secret"
    identity_timeout: int = 5  # seconds, for each call to the provider
    sms_code_ttl: int = 300  # seconds a join SMS code stays valid
    sms_code_attempts: int = 5  # wrong guesses that burn a code
    sms_limit_per_hour: int = 5  # codes sent per WeChat user, and per mobile, an hour


SETTINGS = EnrolmentSettings
