"""docker-compose.yml describes the whole stack: checked by reading it (no Docker engine needed)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from services.registry import FAKES, SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_NGINX = ROOT / "deploy" / "compose" / "nginx.conf"
LOCAL_GATEWAY = ROOT / "deploy" / "nginx" / "gateway.conf.tmpl"
POSTGRES_INIT = ROOT / "deploy" / "compose" / "postgres-init.sql"

# `location [=] /prefix { set $unionhub_service name; ...` on one line, as both gateway files write it.
LOCATION = re.compile(r"^\s*location\s+(?P<exact>=\s+)?(?P<path>/\S*)\s*\{(?P<body>[^}]*)")
SERVICE_OF = re.compile(r"set \$unionhub_service (\w+);")


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


def app_services() -> list[str]:
    return [f"{name}-{role}" for name in SERVICES for role in ("web", "worker")]


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


def test_every_registered_service_has_a_web_and_a_worker_container(services):
    for name, info in SERVICES.items():
        web, worker = services[f"{name}-web"], services[f"{name}-worker"]
        assert web["command"][:3] == ["unionhub", "serve", name]
        # `unionhub serve` binds loopback by default: a container must listen on every interface.
        assert web["command"][web["command"].index("--host") + 1] == "0.0.0.0"
        assert web["command"][web["command"].index("--port") + 1] == str(info.port)
        assert worker["command"][:3] == ["unionhub", "worker", name]


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
        # One variable for every service; Settings puts each in its own database.
        assert database.path == "/{service}", name
        assert urlsplit(env["JWKS_URL"]).hostname == "enrolment-web", name
        assert env["UNIONHUB_HOME"] == "/var/lib/unionhub", name


def test_postgres_creates_a_database_for_every_service():
    created = set(re.findall(r"CREATE DATABASE (\w+)", POSTGRES_INIT.read_text()))
    assert set(SERVICES) <= created


def test_enrolment_logs_in_against_the_wechat_fake(services):
    env = env_of(services["enrolment-web"])
    url = urlsplit(env["WECHAT_CODE2SESSION_URL"])
    assert (url.hostname, url.port, url.path) == ("wechat", FAKES["wechat"], "/sns/jscode2session")


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


def test_compose_nginx_routes_every_path_of_the_local_gateway_to_the_same_service():
    local, compose = gateway_routes(LOCAL_GATEWAY), gateway_routes(COMPOSE_NGINX)
    assert len(local) > 10, "could not read the local gateway's locations"
    assert compose == local


def test_compose_nginx_knows_the_container_of_every_registered_service():
    text = COMPOSE_NGINX.read_text()
    for name, info in SERVICES.items():
        assert re.search(rf"^\s*{name}\s+{name}-web:{info.port};", text, re.M), name


def test_image_installs_the_package_and_runs_as_a_non_root_user():
    dockerfile = (ROOT / "deploy" / "compose" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert "pip install" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
