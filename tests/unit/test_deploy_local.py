"""The local scripts take every service fact from services/registry.py instead of hard-coding it.

deploy/local/registry_facts.py is their one reader of the registry; infra.sh renders the gateway's
upstreams and locations from it and services.sh the processes it starts. Checked by running the
parts that only print (`infra.sh render-gateway`, `registry_facts.py`), never `up` or `down`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.registry import ALL, SERVICES

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "deploy" / "local"
FACTS = LOCAL / "registry_facts.py"
TEMPLATE = ROOT / "deploy" / "nginx" / "gateway.conf.tmpl"

LOCATION = re.compile(r"^\s*location\s+(?P<exact>=\s+)?(?P<path>/\S*)\s*\{(?P<body>[^}]*)")
SERVICE_OF = re.compile(r"set \$unionhub_service (\w+);")
PROXY_PASS = re.compile(r"proxy_pass http://(\w+)(/?);")
UPSTREAM = re.compile(r"upstream (\w+) \{\s*server (\S+) ")


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


def locations(config: str) -> dict[str, tuple[str | None, str | None]]:
    """Path ("= /path" if exact) -> (the service it is logged as, the upstream it is proxied to)."""
    routes = {}
    for line in config.splitlines():
        m = LOCATION.match(line)
        if m:
            key = ("= " if m.group("exact") else "") + m.group("path")
            assert key not in routes, f"{key} is routed twice"
            service, proxy = SERVICE_OF.search(m.group("body")), PROXY_PASS.search(m.group("body"))
            routes[key] = (service and service.group(1), proxy and proxy.group(1) + proxy.group(2))
    return routes


def test_registry_routes_are_unique_and_well_formed():
    routes = [route for s in ALL for route in s.routes]
    assert len(routes) == len(set(routes)), "two services claim the same route"
    for route in routes:
        assert re.fullmatch(r"/[A-Za-z0-9._/-]+", route), route
        assert not route.startswith("/svc/"), route


def test_the_gateway_routes_exactly_the_registry_routes(tmp_path):
    expected = {"= /healthz": (None, None), "/": (None, None)}
    for s in ALL:
        expected.update({route: (s.name, s.name) for route in s.routes})
        # The trailing "/" on proxy_pass strips the /svc/<name> prefix.
        expected[f"/svc/{s.name}/"] = (s.name, f"{s.name}/")
    assert locations(render_gateway(tmp_path)) == expected


def test_the_gateway_has_an_upstream_on_each_registered_port(tmp_path):
    upstreams = dict(UPSTREAM.findall(render_gateway(tmp_path)))
    assert upstreams == {s.name: f"127.0.0.1:{s.port}" for s in ALL}


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
