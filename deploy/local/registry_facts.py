"""What the local scripts need from services/registry.py, in one interpreter start per script.

    python deploy/local/registry_facts.py services   # "<name> <port> <worker metrics port>" per built service
    python deploy/local/registry_facts.py processes  # what services.sh runs: services, then fakes
    python deploy/local/registry_facts.py gateway    # shell assignments for the gateway template

`processes` prints "service <name> <port> <worker metrics port>" per built service and
"fake <name> <port> present|missing" per entry of FAKES ("missing" while services/fakes/<name>.py
is not written yet).

Runs with any Python 3.11 (the registry imports only the standard library), so the gateway can be
rendered before the virtualenv exists. `<NAME>_ADDR=host:port` or `<NAME>_PORT` in the environment
moves a service's upstream (`FAKE_<NAME>_...` a fake's), e.g. to a process started by hand or in a
debugger.

The gateway policy that is not the registry's (body caps, who may read operations endpoints, the
local-only routes) lives here too; tests/unit/test_compose.py and test_k8s_manifests.py hold the
compose gateway and the Ingress to the same values.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.registry import ALL, FAKES, SERVICES  # noqa: E402 - needs the path above

# ---- request body caps ------------------------------------------------------------------------
# nginx refuses a bigger body itself (413 problem+json), before any upstream sees it. Every cap stays
# well under what a service would still read: Flask's MAX_CONTENT_LENGTH (64 KiB,
# services/common/web.py) and gunicorn's drain of a body the app did not read (64 KiB; past that it
# closes the kept-alive connection, and nginx's next request on it failed as a 503 for someone else).
SERVICE_BODY_LIMIT = 64 * 1024
# The largest JSON bodies (a staff account with its store and station ids) are a few hundred bytes;
# 16k leaves room for long id lists.
API_BODY_LIMIT = "16k"
# Routes anyone may call without a token get the tightest cap: a join or a login is a few hundred
# bytes, even with every character \u-escaped.
ANONYMOUS_ROUTES = ("/api/v1/auth/", "/.well-known/", "/api/v1/join")
ANONYMOUS_BODY_LIMIT = "4k"
# /svc/<name>/ and /fake/...: GET only (healthz, readyz, metrics, openapi.json, docs, an outbox).
READ_ONLY_BODY_LIMIT = "4k"

# ---- operations endpoints -----------------------------------------------------------------------
# A service's own paths that tell an outsider too much (its dependencies, its traffic); healthz,
# openapi.json and docs stay public. The Ingress keeps all of /svc/ on an internal host instead.
OPS_PATHS = ("metrics", "readyz")
# The local gateway serves them to the machine itself only; compose adds the private ranges of its
# network (deploy/compose/nginx.conf), as the Ingress's whitelist-source-range does.
LOCAL_OPS_ALLOW = ("127.0.0.1", "::1")

# ---- routes only the local gateway serves -------------------------------------------------------
# gateway path -> (fake, the fake's own path). The SMS fake's outbox lets a developer or a test read
# the code "sent" to a mobile; compose and Kubernetes never route it.
LOCAL_ROUTES = {"/fake/sms/messages": ("identity", "/sms/messages")}


def size_bytes(size: str) -> int:
    units = {"k": 1024, "m": 1024 * 1024}
    return int(size[:-1]) * units[size[-1].lower()] if size[-1].lower() in units else int(size)


def body_limit(route: str) -> str:
    """nginx's client_max_body_size for a gateway path prefix."""
    if route.startswith(("/svc/", "/fake/")):
        return READ_ONLY_BODY_LIMIT
    if route in ANONYMOUS_ROUTES:
        return ANONYMOUS_BODY_LIMIT
    return API_BODY_LIMIT


def fake_upstream(name: str) -> str:
    return f"fake_{name}"


def fake_present(name: str) -> bool:
    return importlib.util.find_spec(f"services.fakes.{name}") is not None


def upstream_addr(name: str, port: int, env=os.environ) -> str:
    prefix = name.upper()
    return env.get(f"{prefix}_ADDR") or f"127.0.0.1:{env.get(f'{prefix}_PORT', port)}"


def routed_fakes(fakes=FAKES) -> dict[str, int]:
    """The fakes a local-only route reaches; a route whose fake is not registered yet is left out."""
    return {fake: fakes[fake] for fake, _ in LOCAL_ROUTES.values() if fake in fakes}


def gateway_upstreams(env=os.environ, fakes=FAKES) -> str:
    servers = [(s.name, upstream_addr(s.name, s.port, env)) for s in ALL]
    servers += [
        (fake_upstream(name), upstream_addr(fake_upstream(name), port, env))
        for name, port in routed_fakes(fakes).items()
    ]
    # keepalive_timeout stays under gunicorn's keep-alive (2 s): nginx must drop an idle connection
    # before the service does, or a request sent on it as gunicorn closes it fails with a 502.
    return "\n".join(
        f"    upstream {name} {{\n"
        f"        server {addr} max_fails=0;\n"
        f"        keepalive 16;\n"
        f"        keepalive_timeout 1s;\n"
        f"    }}"
        for name, addr in servers
    )


def location(path: str, service: str, proxy: str, width: int, *, body: str, allow=(), exact=False) -> str:
    access = "".join(f"allow {a}; " for a in allow) + ("deny all; " if allow else "")
    where = f"= {path}" if exact else path
    return (
        f"        location {where:<{width}} {{ {access}set $unionhub_service {service}; "
        f"client_max_body_size {body}; proxy_pass {proxy}; }}"
    )


def gateway_locations(fakes=FAKES) -> str:
    ops = [f"/svc/{s.name}/{p}" for s in ALL for p in OPS_PATHS]
    width = max(len(r) for r in [*(route for s in ALL for route in s.routes), *(f"= {o}" for o in ops)])
    width = max(width, *(len(f"= {r}") for r in LOCAL_ROUTES))
    lines = []
    for s in ALL:
        lines.append(f"        # ---- {s.name}" + ("" if s.built else " (planned: 503 until it runs)"))
        lines += [location(r, s.name, f"http://{s.name}", width, body=body_limit(r)) for r in s.routes]
    # The trailing "/" on proxy_pass strips the /svc/<name> prefix; an exact location beats it.
    lines.append("        # ---- a service's own root: openapi.json, docs, healthz (public)")
    lines += [
        location(f"/svc/{s.name}/", s.name, f"http://{s.name}/", width, body=body_limit("/svc/")) for s in ALL
    ]
    lines.append(f"        # ---- its operations endpoints ({', '.join(OPS_PATHS)}): this machine only")
    lines += [
        location(
            f"/svc/{s.name}/{p}",
            s.name,
            f"http://{s.name}/{p}",
            width,
            body=body_limit("/svc/"),
            allow=LOCAL_OPS_ALLOW,
            exact=True,
        )
        for s in ALL
        for p in OPS_PATHS
    ]
    lines.append("        # ---- local only: the fakes' outboxes, for this machine only")
    for path, (fake, own_path) in LOCAL_ROUTES.items():
        if fake not in fakes:
            lines.append(f"        # {path}: the {fake} fake is not in services/registry.py FAKES yet")
            continue
        upstream = fake_upstream(fake)
        lines.append(
            location(
                path, upstream, f"http://{upstream}{own_path}", width,
                body=body_limit(path), allow=LOCAL_OPS_ALLOW, exact=True,
            )
        )  # fmt: skip
    return "\n".join(lines)


def processes(fakes=FAKES) -> list[str]:
    rows = [f"service {s.name} {s.port} {s.worker_metrics_port}" for s in SERVICES.values()]
    rows += [
        f"fake {name} {port} {'present' if fake_present(name) else 'missing'}" for name, port in fakes.items()
    ]
    return rows


def main(argv: list[str]) -> int:
    what = argv[1] if len(argv) > 1 else ""
    if what == "services":
        for s in SERVICES.values():
            print(s.name, s.port, s.worker_metrics_port)
    elif what == "processes":
        print("\n".join(processes()))
    elif what == "gateway":
        print(f"GATEWAY_UPSTREAMS={shlex.quote(gateway_upstreams())}")
        print(f"GATEWAY_LOCATIONS={shlex.quote(gateway_locations())}")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
