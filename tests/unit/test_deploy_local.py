"""The local scripts take every service fact from services/registry.py instead of hard-coding it.

deploy/local/registry_facts.py is their one reader of the registry; infra.sh renders the gateway's
upstreams and locations from it and services.sh the processes it starts. Checked by running the
parts that only print (`infra.sh render-gateway`, `registry_facts.py`, `services.sh status`), never
`up` or `down`. The gateway's own policy is checked here too: a body cap on every route, under what
the services would still read; operations endpoints for this machine only; the local-only routes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.common import observability
from services.registry import ALL, FAKES, SERVICES
from tests.support import registry_facts

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "deploy" / "local"
FACTS = LOCAL / "registry_facts.py"
TEMPLATE = ROOT / "deploy" / "nginx" / "gateway.conf.tmpl"

LOCATION = re.compile(r"^\s*location\s+(?P<exact>=\s+)?(?P<path>/\S*)\s*\{(?P<body>[^}]*)")
SERVICE_OF = re.compile(r"set \$unionhub_service (\w+);")
PROXY_PASS = re.compile(r"proxy_pass http://(\S+);")
UPSTREAM = re.compile(r"upstream (\w+) \{\s*server (\S+) ")
BODY_CAP = re.compile(r"client_max_body_size (\w+);")
ALLOW = re.compile(r"allow (\S+);")


facts = registry_facts()


def render_gateway(tmp_path: Path, **env: str) -> str:
    if not shutil.which("envsubst"):
        pytest.skip("envsubst (Debian gettext-base, which infra.sh installs) is missing")
    result = subprocess.run(
        ["bash", str(LOCAL / "infra.sh"), "render-gateway"],
        env={**os.environ, "UNIONHUB_HOME": str(tmp_path), "PY": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def location_bodies(config: str) -> dict[str, str]:
    """Path ("= /path" if exact) -> the directives of its one-line location block."""
    bodies = {}
    for line in config.splitlines():
        m = LOCATION.match(line)
        if m:
            key = ("= " if m.group("exact") else "") + m.group("path")
            assert key not in bodies, f"{key} is routed twice"
            bodies[key] = m.group("body")
    return bodies


def locations(config: str) -> dict[str, tuple[str | None, str | None]]:
    """Path ("= /path" if exact) -> (the service it is logged as, what it is proxied to)."""
    routes = {}
    for key, body in location_bodies(config).items():
        service, proxy = SERVICE_OF.search(body), PROXY_PASS.search(body)
        routes[key] = (service and service.group(1), proxy and proxy.group(1))
    return routes


def expected_routes(fakes=FAKES) -> dict[str, tuple[str | None, str | None]]:
    expected = {"= /healthz": (None, None), "/": (None, None)}
    for s in ALL:
        expected.update({route: (s.name, s.name) for route in s.routes})
        # The trailing "/" on proxy_pass strips the /svc/<name> prefix.
        expected[f"/svc/{s.name}/"] = (s.name, f"{s.name}/")
        for path in facts.OPS_PATHS:
            expected[f"= /svc/{s.name}/{path}"] = (s.name, f"{s.name}/{path}")
    for route, (fake, own_path) in facts.LOCAL_ROUTES.items():
        if fake in fakes:
            expected[f"= {route}"] = (f"fake_{fake}", f"fake_{fake}{own_path}")
    return expected


def test_registry_routes_are_unique_and_well_formed():
    routes = [route for s in ALL for route in s.routes]
    assert len(routes) == len(set(routes)), "two services claim the same route"
    for route in routes:
        assert re.fullmatch(r"/[A-Za-z0-9._/-]+", route), route
        assert not route.startswith("/svc/"), route


def test_the_gateway_routes_exactly_the_registry_routes(tmp_path):
    assert locations(render_gateway(tmp_path)) == expected_routes()


def test_the_gateway_has_an_upstream_on_each_registered_port(tmp_path):
    upstreams = dict(UPSTREAM.findall(render_gateway(tmp_path)))
    expected = {s.name: f"127.0.0.1:{s.port}" for s in ALL}
    expected.update(
        {f"fake_{f}": f"127.0.0.1:{FAKES[f]}" for f, _ in facts.LOCAL_ROUTES.values() if f in FAKES}
    )
    assert upstreams == expected


IDENTITY_REGISTERED = {**FAKES, "identity": 8198}


def test_the_sms_outbox_is_routed_to_the_identity_fake_once_it_is_registered():
    config = (
        facts.gateway_upstreams({}, IDENTITY_REGISTERED) + "\n" + facts.gateway_locations(IDENTITY_REGISTERED)
    )
    assert dict(UPSTREAM.findall(config))["fake_identity"] == "127.0.0.1:8198"
    routes = locations(config)
    assert routes["= /fake/sms/messages"] == ("fake_identity", "fake_identity/sms/messages")
    assert routes == {
        k: v for k, v in expected_routes(IDENTITY_REGISTERED).items() if k not in ("/", "= /healthz")
    }
    # The outbox holds the codes that prove a mobile number: this machine only, like the ops endpoints.
    body = location_bodies(config)["= /fake/sms/messages"]
    assert ALLOW.findall(body) == list(facts.LOCAL_OPS_ALLOW) and "deny all;" in body


def test_a_fake_not_registered_yet_gets_no_route_and_no_upstream():
    without = {name: port for name, port in FAKES.items() if name != "identity"}
    config = facts.gateway_upstreams({}, without) + "\n" + facts.gateway_locations(without)
    assert "fake_identity" not in config
    assert "/fake/sms/messages" not in locations(config)


def size(value: str) -> int:
    return facts.size_bytes(value)


def test_every_proxied_route_caps_its_body_under_what_the_services_still_read(tmp_path):
    config = render_gateway(tmp_path)
    for path, body in location_bodies(config).items():
        if "proxy_pass" not in body:
            continue
        cap = BODY_CAP.search(body)
        assert cap, f"{path} has no client_max_body_size of its own"
        # 0 would mean "no limit" to nginx.
        assert 0 < size(cap.group(1)) < facts.SERVICE_BODY_LIMIT, path
        assert cap.group(1) == facts.body_limit(path.removeprefix("= ")), path
    bodies = location_bodies(config)
    for route in facts.ANONYMOUS_ROUTES:
        assert size(BODY_CAP.search(bodies[route]).group(1)) <= 4 * 1024, route


def test_the_gateway_buffers_bodies_and_outlives_no_service_keepalive(tmp_path):
    from gunicorn.config import Config

    config = render_gateway(tmp_path)
    http_level = config[: config.index("server {")]
    # A body is read whole before the service is contacted, and in memory up to the largest cap.
    assert re.search(r"^\s*proxy_request_buffering on;", http_level, re.M)
    buffer = re.search(r"^\s*client_body_buffer_size (\w+);", http_level, re.M).group(1)
    assert size(buffer) >= max(size(c) for c in BODY_CAP.findall(config))
    # Idle upstream connections close on nginx's side first: gunicorn's keep-alive, as
    # `unionhub serve` runs it, is its default.
    timeouts = re.findall(r"upstream \w+ \{[^}]*keepalive_timeout (\d+)s;", config)
    assert len(timeouts) == len(UPSTREAM.findall(config))
    assert all(int(t) < Config().keepalive for t in timeouts)
    # Connection errors on a reused connection are retried, for idempotent methods only.
    assert re.search(r"^\s*proxy_next_upstream error;", http_level, re.M)
    assert "non_idempotent" not in config


def test_operations_endpoints_answer_this_machine_only_and_the_rest_of_svc_stays_public(tmp_path):
    bodies = location_bodies(render_gateway(tmp_path))
    restricted = {f"= /svc/{s.name}/{p}" for s in ALL for p in facts.OPS_PATHS}
    for path, body in bodies.items():
        if path in restricted or path.startswith("= /fake/"):
            assert ALLOW.findall(body) == list(facts.LOCAL_OPS_ALLOW), path
            assert body.rstrip().count("deny all;") == 1, path
        else:
            assert "allow" not in body and "deny" not in body, path
    assert set(facts.OPS_PATHS) == {"metrics", "readyz"}
    assert restricted <= bodies.keys()


def test_nginx_problems_cover_refusals_too():
    template = TEMPLATE.read_text()
    for status, name in ((413, "too_large"), (403, "forbidden")):
        assert f"error_page {status} ={status} @{name};" in template
        block = template[template.index(f"location @{name}") :]
        assert "application/problem+json" in block[: block.index("}")]


def test_an_upstream_can_be_moved_from_the_environment(tmp_path):
    moved, other = ALL[0], ALL[1]
    env = {f"{moved.name.upper()}_ADDR": "10.1.2.3:9000", f"{other.name.upper()}_PORT": "9001"}
    upstreams = dict(UPSTREAM.findall(render_gateway(tmp_path, **env)))
    assert upstreams[moved.name] == "10.1.2.3:9000"
    assert upstreams[other.name] == "127.0.0.1:9001"


def test_the_template_names_no_service_and_the_render_leaves_no_placeholder(tmp_path):
    template = TEMPLATE.read_text()
    for s in ALL:
        assert s.name not in template, f"{s.name} is hard-coded in {TEMPLATE.name}"
    config = render_gateway(tmp_path)
    assert not re.search(r"\$\{[A-Z_]+\}", config)
    assert str(tmp_path) in config


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_nginx_accepts_the_rendered_gateway(tmp_path):
    home = tmp_path / "nginx"
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (home / "tmp" / sub).mkdir(parents=True)
    (home / "gateway.conf").write_text(render_gateway(tmp_path))
    result = subprocess.run(
        ["nginx", "-t", "-q", "-p", f"{home}/", "-c", "gateway.conf", "-e", str(home / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr


def test_registry_facts_lists_the_processes_services_sh_runs():
    out = subprocess.run(
        [sys.executable, str(FACTS), "processes"], capture_output=True, text=True, check=True
    ).stdout
    rows = [line.split() for line in out.splitlines()]
    assert rows[: len(SERVICES)] == [
        ["service", s.name, str(s.port), str(s.worker_metrics_port)] for s in SERVICES.values()
    ]
    fakes = {name: (port, state) for kind, name, port, state in rows[len(SERVICES) :] if kind == "fake"}
    assert len(rows) == len(SERVICES) + len(FAKES)
    for name, port in FAKES.items():
        present = (ROOT / "services" / "fakes" / f"{name}.py").exists()
        assert fakes[name] == (str(port), "present" if present else "missing"), name


def test_services_sh_starts_every_fake_and_skips_one_whose_module_is_missing(tmp_path):
    # A stand-in interpreter answers the facts: the registry's wechat fake and one not written yet.
    py = tmp_path / "py"
    py.write_text(
        "#!/bin/sh\nprintf 'service demo 1 2\\nfake wechat 8199 present\\nfake later 8198 missing\\n'\n"
    )
    py.chmod(0o755)
    result = subprocess.run(
        ["bash", str(LOCAL / "services.sh"), "status"],
        env={**os.environ, "UNIONHUB_HOME": str(tmp_path), "PY": str(py)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    names = [line.split()[0] for line in result.stdout.splitlines()]
    assert names == ["web:wechat", "web:demo", "worker:demo"]
    text = (LOCAL / "services.sh").read_text()
    up = text[text.index("cmd_up()") : text.index("cmd_down()")]
    assert "fake_names missing" in up and "does not exist yet" in up
    for name, port in FAKES.items():
        assert name not in text and str(port) not in text, name


def test_registry_facts_lists_every_built_service_with_its_ports():
    facts = subprocess.run(
        [sys.executable, str(FACTS), "services"], capture_output=True, text=True, check=True
    )
    out = facts.stdout
    rows = [line.split() for line in out.splitlines()]
    assert rows == [[s.name, str(s.port), str(s.worker_metrics_port)] for s in SERVICES.values()]


@pytest.mark.parametrize("script", ["infra.sh", "services.sh"])
def test_the_scripts_hard_code_no_service(script):
    text = (LOCAL / script).read_text()
    for s in ALL:
        assert not re.search(rf"\b({s.port}|{s.worker_metrics_port})\b", text), (script, s.name)
        assert not re.search(rf"\b{s.name.upper()}_(ADDR|PORT)\b", text), (script, s.name)
    # One interpreter start for all facts, not one per fact.
    assert text.count("registry_facts.py") == 1, script
    assert "services.registry" not in text, script


def test_services_sh_migrates_each_service_before_starting_its_web_process():
    text = (LOCAL / "services.sh").read_text()
    up = text[text.index("cmd_up()") : text.index("cmd_down()")]
    migrate = up.index('"$UNIONHUB" db upgrade "$svc"')
    assert migrate < up.index('start_process "web:$svc"') < up.index('start_process "worker:$svc"')


def test_the_scripts_are_valid_bash():
    for script in ("infra.sh", "services.sh", "lib.sh"):
        result = subprocess.run(["bash", "-n", str(LOCAL / script)], capture_output=True, text=True)
        assert result.returncode == 0, (script, result.stderr)


def test_the_gateway_keeps_the_request_ids_the_services_keep():
    # A caller's id the gateway passed on but a service would not keep (longer than it takes) gave
    # the service's log lines another id than the gateway's answer and log.
    (kept,) = re.findall(r'"~(\^[^"]+\$)"\s+\$http_x_request_id;', TEMPLATE.read_text())
    assert kept == observability._REQUEST_ID.pattern
