"""What the local scripts need from services/registry.py, in one interpreter start per script.

    python deploy/local/registry_facts.py services   # "<name> <port> <worker metrics port>" per built service
    python deploy/local/registry_facts.py gateway    # shell assignments for the gateway template

Runs with any Python 3.11 (the registry imports only the standard library), so the gateway can be
rendered before the virtualenv exists. `<NAME>_ADDR=host:port` or `<NAME>_PORT` in the environment
moves a service's upstream, e.g. to a process started by hand or in a debugger.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.registry import ALL, SERVICES  # noqa: E402 - needs the path above


def upstream_addr(service, env=os.environ) -> str:
    prefix = service.name.upper()
    return env.get(f"{prefix}_ADDR") or f"127.0.0.1:{env.get(f'{prefix}_PORT', service.port)}"


def gateway_upstreams(env=os.environ) -> str:
    blocks = []
    for s in ALL:
        blocks.append(
            f"    upstream {s.name} {{\n"
            f"        server {upstream_addr(s, env)} max_fails=0;\n"
            f"        keepalive 16;\n"
            f"    }}"
        )
    return "\n".join(blocks)


def location(path: str, service: str, proxy: str, width: int) -> str:
    return f"        location {path:<{width}} {{ set $unionhub_service {service}; proxy_pass {proxy}; }}"


def gateway_locations() -> str:
    width = max(len(route) for s in ALL for route in s.routes)
    lines = []
    for s in ALL:
        lines.append(f"        # ---- {s.name}" + ("" if s.built else " (planned: 503 until it runs)"))
        lines += [location(route, s.name, f"http://{s.name}", width) for route in s.routes]
    # The trailing "/" on proxy_pass strips the /svc/<name> prefix.
    lines.append("        # ---- a service's own root: openapi.json, docs, healthz, metrics")
    lines += [location(f"/svc/{s.name}/", s.name, f"http://{s.name}/", width) for s in ALL]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    what = argv[1] if len(argv) > 1 else ""
    if what == "services":
        for s in SERVICES.values():
            print(s.name, s.port, s.worker_metrics_port)
    elif what == "gateway":
        print(f"GATEWAY_UPSTREAMS={shlex.quote(gateway_upstreams())}")
        print(f"GATEWAY_LOCATIONS={shlex.quote(gateway_locations())}")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
