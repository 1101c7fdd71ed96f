"""Settings from the environment, with defaults that work for a quick local run."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def home() -> Path:
    """Where local state lives: databases, logs, generated local secrets."""
    return Path(os.environ.get("UNIONHUB_HOME", REPO_ROOT / "var"))


def _parse(kind, raw: str):
    # Field types are strings here (postponed annotations).
    if kind in ("int", int):
        return int(raw)
    if kind in ("bool", bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return raw


@dataclass(frozen=True)
class Settings:
    service: str
    # May contain "{service}" so one variable serves every service, each with its own database.
    database_url: str = "sqlite:///{home}/{service}.db"
    redis_url: str = "redis://127.0.0.1:6379/0"
    kafka_bootstrap: str = "127.0.0.1:9092"
    jwt_issuer: str = "unionhub-enrolment"
    jwks_url: str = "http://127.0.0.1:8101/.well-known/jwks.json"
    jwks_cache_seconds: int = 300
    public_base_url: str = "http://127.0.0.1:8000"
    # Enrolment's own address, for the few questions only it answers (where a branch sits in the tree).
    enrolment_url: str = "http://127.0.0.1:8101"
    log_level: str = "INFO"
    worker_metrics_port: int = 0  # 0: the event worker serves no /metrics
    worker_metrics_addr: str = "127.0.0.1"  # 0.0.0.0 where Prometheus scrapes from outside (k8s)
    # CIDRs of the proxies whose X-Forwarded-For is believed (comma-separated). Locally the gateway
    # runs on loopback; compose and k8s set their gateway's or ingress controller's network.
    trusted_proxies: str = "127.0.0.1/32,::1/128"
    # base64; the HMAC key of Idempotency-Key fingerprints. Empty: the service derives one from its
    # own secret material (enrolment: from its PII hash key).
    idempotency_key_secret: str = ""
    # Production sets this false: each replica generating its own keys would reject the others' codes.
    generate_local_secrets: bool = True

    @classmethod
    def from_env(cls, service: str, env: dict[str, str] | None = None, **overrides):
        """Read each field from UNIONHUB_<FIELD>, or <FIELD> (e.g. DATABASE_URL, REDIS_URL)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {"service": service}
        for f in fields(cls):
            if f.name == "service":
                continue
            raw = env.get(f"UNIONHUB_{f.name.upper()}", env.get(f.name.upper()))
            if raw is not None:
                values[f.name] = _parse(f.type, raw)
        values.update(overrides)
        settings = cls(**values)
        url = settings.database_url.format(service=service, home=home())
        object.__setattr__(settings, "database_url", url)
        return settings
