"""The service kit: one app factory and one event worker for every service in services/registry.py.

A service supplies parts (settings, tables, handlers, messages, blueprints, start-up); the kit puts
them together the same way for all, so each service's package holds only what is its own.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from services.registry import SERVICES, Service

from . import i18n, worker
from .auth import TokenVerifier
from .config import Settings
from .db import Database
from .jwks import IssuerKeysCopy, JwksKeys
from .web import create_service_app


@dataclass(frozen=True)
class Command:
    """A ``unionhub`` subcommand a service brings along (its ``commands.COMMANDS``).

    One named ``seed`` is not a subcommand of its own: ``unionhub seed`` runs every service's.
    """

    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    arguments: tuple[tuple[tuple, dict], ...] = ()  # (args, kwargs) for ``add_argument``


@dataclass
class Started:
    """What a service's start-up hook built once per process."""

    extension: Any = None  # hung on app.extensions[<service name>] for its views
    verifier: TokenVerifier | None = None  # default: verify tokens against enrolment's JWKS


def service(name: str) -> Service:
    return SERVICES[name]


def load_settings(name: str, env: dict[str, str] | None = None) -> Settings:
    return service(name).part("settings").from_env(name, env)


def database(name: str, settings: Settings) -> Database:
    return Database(settings.database_url, service(name).part("tables"), source=f"/unionhub/{name}")


def jwks_verifier(settings: Settings, db: Database) -> TokenVerifier:
    copy = IssuerKeysCopy(db.engine, db.issuer_keys)
    keys = JwksKeys(settings.jwks_url, settings.jwks_cache_seconds, copy=copy)
    return TokenVerifier(keys, settings.jwt_issuer)


def create_app(name: str, config: dict | None = None) -> Flask:
    """The web app of service ``name``; ``config["SETTINGS"]`` overrides the environment (tests)."""
    spec = service(name)
    config = dict(config or {})
    settings = config.pop("SETTINGS", None) or load_settings(name)
    i18n.register(spec.part("messages"))
    db = database(name, settings)
    started: Started = spec.part("startup")(settings, db)
    app = create_service_app(
        settings,
        db,
        started.verifier or jwks_verifier(settings, db),
        title=f"UnionHub {spec.name}",
        blueprints=spec.part("api"),
        config=config,
    )
    app.extensions[name] = started.extension
    return app


def run_worker(name: str, roles: tuple[str, ...] = worker.ROLES) -> None:
    """The event worker of service ``name``: its outbox relay, its consumer of other services'
    events, and its timed jobs."""
    settings = load_settings(name)
    spec = service(name)
    worker.run(
        settings, database(name, settings), spec.part("handlers"), roles, jobs=spec.optional_part("jobs", [])
    )
