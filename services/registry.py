"""Every service, declared once: what the kit needs to run it and what deployment needs to route it.

The app factory and the event worker (services/common/kit.py), the ``unionhub`` command, the local
scripts, the gateways (nginx locally and in compose, the Ingress) and the Kubernetes overlays all
read this module; unit tests fail when a deployment file misses a service or a route declared here.

The kit's parts are named as ``"module:attribute"`` strings and imported only when used, so reading
ports and routes (as the shell scripts do) does not import Flask or the service's code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    name: str
    port: int  # its web port locally; its worker's metrics are on port + 1000
    title: str
    routes: tuple[str, ...]  # the gateway's path prefixes that reach this service
    built: bool = True  # planned services are routed already and answer 503 until they run

    @property
    def module(self) -> str:
        return f"services.{self.name}"

    @property
    def database(self) -> str:
        """Its PostgreSQL database, one per service."""
        return f"unionhub_{self.name}"

    @property
    def worker_metrics_port(self) -> int:
        return self.port + 1000

    @property
    def migrations(self) -> str:
        return f"{self.module}:migrations"

    def part(self, name: str):
        """One part of the service's kit, by convention in its own package:

        ``settings``   its Settings class                    (``<module>.settings:SETTINGS``)
        ``tables``     its SQLAlchemy MetaData                (``<module>.tables:metadata``)
        ``handlers``   event type → handler                  (``<module>.handlers:HANDLERS``)
        ``messages``   problem texts in zh-CN and en          (``<module>.messages:MESSAGES``)
        ``api``        its blueprints                         (``<module>.api:BLUEPRINTS``)
        ``startup``    what its web app builds once at start  (``<module>.startup:start``)
        ``commands``   its own ``unionhub`` subcommands       (``<module>.commands:COMMANDS``)
        ``jobs``       what its worker does on a timer        (``<module>.jobs:JOBS``)
        """
        module, attribute = _PARTS[name]
        return getattr(importlib.import_module(f"{self.module}.{module}"), attribute)

    def optional_part(self, name: str, default):
        """A part a service may leave out (``commands``, ``jobs``): ``default`` when its module is absent."""
        try:
            return self.part(name)
        except ModuleNotFoundError as error:
            if error.name != f"{self.module}.{_PARTS[name][0]}":
                raise  # the module exists and fails to import: a real error
            return default


_PARTS = {
    "settings": ("settings", "SETTINGS"),
    "tables": ("tables", "metadata"),
    "handlers": ("handlers", "HANDLERS"),
    "messages": ("messages", "MESSAGES"),
    "api": ("api", "BLUEPRINTS"),
    "startup": ("startup", "start"),
    "commands": ("commands", "COMMANDS"),
    "jobs": ("jobs", "JOBS"),
}

ALL = (
    Service(
        "enrolment",
        8101,
        "Enrolment: branches, QR campaigns, joining, member cards, logins",
        routes=(
            "/api/v1/auth/",
            "/.well-known/",
            "/api/v1/branches",
            "/api/v1/campaigns",
            "/api/v1/join",
            "/api/v1/members",
            "/api/v1/staff",
            "/api/v1/card-tokens",
            "/api/v1/audit",
            "/api/v1/disputes",
        ),
    ),
    Service(
        "courses",
        8102,
        "Course booking: terms, courses, seats, waitlists, check-in",
        routes=("/api/v1/terms", "/api/v1/courses", "/api/v1/bookings", "/api/v1/checkins", "/api/v1/venues"),
    ),
    Service(
        "merchants",
        8103,
        "Merchant discounts: merchants, stores, offers, redemptions",
        routes=("/api/v1/merchants", "/api/v1/offers", "/api/v1/redemptions", "/api/v1/vouchers"),
    ),
    Service(
        "stations",
        8104,
        "Courier rest stations: finder, duty rota, duty log, lockers",
        routes=("/api/v1/stations", "/api/v1/shifts"),
    ),
    Service(
        "web",
        8105,
        "Web pages: the H5 join page, the till, the station duty page, the admin console",
        routes=("/app/",),
    ),
)

# The services that run; the others are only routed.
SERVICES = {s.name: s for s in ALL if s.built}

# Local stand-ins for outside systems, run only in development and tests.
FAKES = {"wechat": 8199, "identity": 8198}
