"""The services of the system, their ports behind the gateway, and where their code lives."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    port: int
    module: str  # has app.create_app() and worker.main()


SERVICES = {s.name: s for s in [ServiceInfo("enrolment", 8101, "services.enrolment")]}

# Local stand-ins for outside systems, run only in development and tests.
FAKES = {"wechat": 8199}
