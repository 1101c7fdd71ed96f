"""docker-compose.yml describes the whole stack: checked by reading it (no Docker engine needed).

Its containers, the compose gateway (deploy/compose/nginx.conf) and the databases
(deploy/compose/postgres-init.sql) are written by hand; these tests hold them to services/registry.py
in both directions, so a service declared there and missing here fails, and so does the reverse.
The gateway's body caps and its allow list for operations endpoints are held to the local gateway's
(deploy/local/registry_facts.py) and the Ingress's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from services.registry import ALL, FAKES, SERVICES
from tests.support import registry_facts

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_NGINX = ROOT / "deploy" / "compose" / "nginx.conf"
POSTGRES_INIT = ROOT / "deploy" / "compose" / "postgres-init.sql"

# `location [=] /prefix { set $unionhub_service name; ...` on one line, as both gateway files write it.
LOCATION = re.compile(r"^\s*location\s+(?P<exact>=\s+)?(?P<path>/\S*)\s*\{(?P<body>[^}]*)")
SERVICE_OF = re.compile(r"set \$unionhub_service (\w+);")
BODY_CAP = re.compile(r"client_max_body_size (\w+);")
ALLOW = re.compile(r"allow (\S+);")


facts = registry_facts()


def location_bodies(path: Path) -> dict[str, str]:
    """Path ("= /path" if exact) -> the directives of its one-line location block."""
    bodies = {}
    for line in path.read_text().splitlines():
        m = LOCATION.match(line)
        if m:
            key = ("= " if m.group("exact") else "") + m.group("path")
            assert key not in bodies, f"{key} is routed twice"
            bodies[key] = m.group("body")
    return bodies


def gateway_routes(path: Path) -> dict[str, str | None]:
    """Path prefix ("= /path" if exact) -> service it is proxied to (None if nginx answers itself)."""
    routes = {}
    for line in path.read_text().splitlines():
        m = LOCATION.match(line)
        if m:
            service = SERVICE_OF.search(m.group("body"))
            key = ("= " if m.group("exact") else "") + m.group("path")
            routes[key] = service.group(1) if service else None
    return routes


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


ROLES = ("migrate", "web", "worker")


def app_services() -> list[str]:
    return [f"{name}-{role}" for name in SERVICES for role in ROLES]


def registry_routes() -> dict[str, str | None]:
    """What every gateway must route: each declared route, /svc/<name>/ and its operations endpoints,
    plus its own two. The local-only routes (/fake/...) are not here."""
    routes: dict[str, str | None] = {"= /healthz": None, "/": None}
    for s in ALL:
        routes.update({route: s.name for route in s.routes})
        routes[f"/svc/{s.name}/"] = s.name
        routes.update({f"= /svc/{s.name}/{p}": s.name for p in facts.OPS_PATHS})
    return routes


def env_of(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the "KEY=value" list form
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def test_names_the_infrastructure_the_gateway_and_the_wechat_fake(services):
    for name in ("kafka", "redis", "postgres", "gateway", "topics", *FAKES):
        assert name in services, f"docker-compose.yml has no '{name}' service"
    assert services["kafka"]["image"] == "apache/kafka:4.1.1"
    assert services["redis"]["image"].startswith("redis:7")
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["gateway"]["image"].startswith("nginx")


def test_every_registered_service_has_a_migrate_a_web_and_a_worker_container(services):
    for name, info in SERVICES.items():
        migrate, web, worker = (services[f"{name}-{role}"] for role in ROLES)
        assert migrate["command"] == ["unionhub", "db", "upgrade", name]
        assert migrate["restart"] == "no", "a one-shot must not be restarted after it exits 0"
        assert web["command"][:3] == ["unionhub", "serve", name]
        # `unionhub serve` binds loopback by default: a container must listen on every interface.
        assert web["command"][web["command"].index("--host") + 1] == "0.0.0.0"
        assert web["command"][web["command"].index("--port") + 1] == str(info.port)
        assert worker["command"][:3] == ["unionhub", "worker", name]
        env = env_of(worker)
        # A container has an address of its own, so every worker serves its metrics on one port
        # (the registry's port + 1000 is for local processes sharing one host).
        assert env["UNIONHUB_WORKER_METRICS_PORT"] == "9102", name
        assert env["UNIONHUB_WORKER_METRICS_ADDR"] == "0.0.0.0", name


def test_no_container_runs_a_service_the_registry_does_not_declare_built(services):
    suffixes = tuple(f"-{role}" for role in ROLES)
    app_like = {name for name in services if name.endswith(suffixes)}
    assert app_like == set(app_services())


def test_web_and_worker_start_only_after_their_migration_succeeded(services):
    for name in SERVICES:
        assert services[f"{name}-migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
        for role in ("web", "worker"):
            depends = services[f"{name}-{role}"]["depends_on"]
            assert depends[f"{name}-migrate"]["condition"] == "service_completed_successfully", (name, role)


def test_the_wechat_fake_is_served_on_its_registered_port(services):
    for name, port in FAKES.items():
        command = services[name]["command"]
        assert command[:3] == ["unionhub", "serve", name]
        assert command[command.index("--host") + 1] == "0.0.0.0"
        assert f":{port}/healthz" in " ".join(services[name]["healthcheck"]["test"])


def test_kafka_is_a_single_kraft_node_with_auto_create_off(services):
    env = env_of(services["kafka"])
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert "ZOOKEEPER" not in " ".join(env)


def test_topics_are_created_once_kafka_is_healthy(services):
    topics = services["topics"]
    assert topics["command"][:2] == ["unionhub", "topics"]
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert env_of(topics)["KAFKA_BOOTSTRAP"] == "kafka:9092"


def test_every_service_talks_to_the_kafka_redis_and_postgres_containers(services):
    for name in [*app_services(), "topics", "seed"]:
        env = env_of(services[name])
        assert env["KAFKA_BOOTSTRAP"].split(":")[0] == "kafka", name
        assert urlsplit(env["REDIS_URL"]).hostname == "redis", name
        database = urlsplit(env["DATABASE_URL"])
        assert database.hostname == "postgres", name
        assert database.scheme == "postgresql+psycopg", name
        # One variable for every service; Settings puts each in the registry's database for it.
        assert database.path == "/unionhub_{service}", name
        if name.rsplit("-", 1)[0] in SERVICES:
            service = SERVICES[name.rsplit("-", 1)[0]]
            assert database.path.format(service=service.name) == f"/{service.database}", name
        assert urlsplit(env["JWKS_URL"]).hostname == "enrolment-web", name
        assert env["UNIONHUB_HOME"] == "/var/lib/unionhub", name


def test_postgres_creates_the_database_of_every_declared_service_and_no_other():
    created = re.findall(r"CREATE DATABASE (\w+)", POSTGRES_INIT.read_text())
    assert sorted(created) == sorted(s.database for s in ALL)


def test_enrolment_logs_in_against_the_wechat_fake(services):
    env = env_of(services["enrolment-web"])
    url = urlsplit(env["WECHAT_CODE2SESSION_URL"])
    assert (url.hostname, url.port, url.path) == ("wechat", FAKES["wechat"], "/sns/jscode2session")


def test_no_container_generates_keys_and_enrolment_refuses_to_start_without_each(services):
    ours = [name for name, service in services.items() if "unionhub" in str(service.get("image", ""))]
    assert "enrolment-web" in ours and "enrolment-worker" in ours
    for name in ours:
        assert env_of(services[name]).get("UNIONHUB_GENERATE_LOCAL_SECRETS") == "false", name
    env = env_of(services["enrolment-web"])
    for variable in (
        "UNIONHUB_PII_KEYS",
        "UNIONHUB_PII_HASH_KEY",
        "UNIONHUB_CARD_KEYS",
        "UNIONHUB_JWT_KEYS",
    ):
        # ${VAR:?message}: compose itself stops, saying what to run, when the variable is missing.
        assert re.fullmatch(rf"\$\{{{variable}:\?.*unionhub keys new.*\}}", env[variable]), variable


def test_web_containers_have_healthz_checks_and_wait_for_healthy_infrastructure(services):
    for name, info in SERVICES.items():
        web = services[f"{name}-web"]
        assert f"127.0.0.1:{info.port}/healthz" in " ".join(web["healthcheck"]["test"])
        for infra in ("postgres", "redis", "kafka"):
            assert web["depends_on"][infra]["condition"] == "service_healthy", (name, infra)
        worker = services[f"{name}-worker"]
        assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    for infra in ("kafka", "redis", "postgres", "gateway"):
        assert services[infra]["healthcheck"]["test"], infra


def test_gateway_serves_the_compose_nginx_config_on_port_8000(services):
    gateway = services["gateway"]
    assert any(v.startswith("./deploy/compose/nginx.conf:/etc/nginx/nginx.conf") for v in gateway["volumes"])
    assert any(str(p).endswith(":8000") for p in gateway["ports"])


def test_compose_nginx_routes_exactly_the_registry_routes_to_their_services():
    assert gateway_routes(COMPOSE_NGINX) == registry_routes()


def test_compose_nginx_knows_the_container_of_every_declared_service_and_no_other():
    text = COMPOSE_NGINX.read_text()
    block = re.search(r"map \$unionhub_service \$unionhub_upstream \{(?P<body>[^}]*)\}", text)
    assert block, "deploy/compose/nginx.conf has no map from service to upstream"
    entries = dict(re.findall(r"^\s*([\w-]+)\s+(\S+);", block.group("body"), re.M))
    assert entries.pop("default") == "127.0.0.1:9"
    assert entries == {s.name: f"{s.name}-web:{s.port}" for s in ALL}


def test_compose_nginx_strips_the_prefix_of_every_service_root():
    text = COMPOSE_NGINX.read_text()
    for s in ALL:
        strip = rf"location /svc/{s.name}/ .*rewrite \^/svc/{s.name}\(/\.\*\)\$ \$1 break;"
        assert re.search(strip, text), s.name


def test_image_installs_the_package_and_runs_as_a_non_root_user():
    dockerfile = (ROOT / "deploy" / "compose" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert "pip install" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_image_serves_swagger_ui_from_the_locked_npm_package_not_a_cdn():
    dockerfile = (ROOT / "deploy" / "compose" / "Dockerfile").read_text()
    assert "COPY deploy/web/package.json deploy/web/package-lock.json" in dockerfile
    assert "npm ci --ignore-scripts" in dockerfile
    assert re.search(r"UNIONHUB_WEB_MODULES=/app/web/node_modules", dockerfile)
    assert not re.search(r"https?://", dockerfile)  # nothing fetched from a URL of its own


def test_compose_nginx_caps_every_body_as_the_local_gateway_does():
    for path, body in location_bodies(COMPOSE_NGINX).items():
        if "proxy_pass" not in body:
            continue
        cap = BODY_CAP.search(body)
        assert cap, f"{path} has no client_max_body_size of its own"
        assert cap.group(1) == facts.body_limit(path.removeprefix("= ")), path
        assert 0 < facts.size_bytes(cap.group(1)) < facts.SERVICE_BODY_LIMIT, path
    text = COMPOSE_NGINX.read_text()
    assert re.search(r"^\s*proxy_request_buffering on;", text, re.M)
    assert re.search(r"^\s*proxy_next_upstream error;", text, re.M)
    assert "client_max_body_size 1m" not in text


def test_compose_nginx_serves_operations_endpoints_to_its_network_only():
    ingress = yaml.safe_load_all((ROOT / "deploy" / "k8s" / "ingress.yaml").read_text())
    ops = next(d for d in ingress if d and d["metadata"]["name"] == "unionhub-service-roots")
    private = ops["metadata"]["annotations"]["nginx.ingress.kubernetes.io/whitelist-source-range"].split(",")
    bodies = location_bodies(COMPOSE_NGINX)
    for s in ALL:
        for p in facts.OPS_PATHS:
            body = bodies[f"= /svc/{s.name}/{p}"]
            assert ALLOW.findall(body) == ["127.0.0.1", *private], (s.name, p)
            assert "deny all;" in body, (s.name, p)
            # With a variable in proxy_pass, the rewrite names the service's own path.
            assert f"rewrite ^ /{p} break;" in body, (s.name, p)
    public = {path: body for path, body in bodies.items() if "allow" not in body}
    assert {f"/svc/{s.name}/" for s in ALL} <= public.keys(), "healthz, openapi.json and docs stay public"
    assert not [path for path in bodies if path.lstrip("= ").startswith("/fake/")], "/fake/ is local only"


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_nginx_accepts_the_compose_gateway(tmp_path):
    # The image runs it as root with its own paths; here only the syntax and directives are at stake.
    text = (
        COMPOSE_NGINX.read_text()
        .replace("user nginx;\n", "")
        .replace("/tmp/nginx.pid", str(tmp_path / "pid"))
    )
    temp = " ".join(
        f"{d}_temp_path {tmp_path / d};" for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(text.replace("http {\n", "http {\n    " + temp + "\n", 1))
    result = subprocess.run(
        ["nginx", "-t", "-q", "-p", f"{tmp_path}/", "-c", "nginx.conf", "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
