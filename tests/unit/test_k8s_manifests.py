"""deploy/k8s runs every registered service (web + worker) and routes the gateway's paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from services.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
LOCAL_GATEWAY = ROOT / "deploy" / "nginx" / "gateway.conf.tmpl"

# `location /prefix { set $unionhub_service name; ...` as the local gateway writes its routes.
PROXIED_LOCATION = re.compile(r"^\s*location\s+(?P<path>/\S*)\s*\{\s*set \$unionhub_service (?P<svc>\w+);")


def load_documents() -> list[dict]:
    docs = []
    for path in sorted(K8S.rglob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


@pytest.fixture(scope="module")
def documents() -> list[dict]:
    return load_documents()


def of_kind(documents, kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def only_container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def port_number(container: dict, port) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p["name"] == port)


def normalise(prefix: str) -> str:
    # "/svc/enrolment(/|$)(.*)" (an ingress-nginx regex) and "/api/v1/auth/" both name a prefix.
    return prefix.split("(")[0].rstrip("/") or "/"


def gateway_routes() -> dict[str, str]:
    routes = {}
    for line in LOCAL_GATEWAY.read_text().splitlines():
        m = PROXIED_LOCATION.match(line)
        if m:
            routes[normalise(m.group("path"))] = m.group("svc")
    return routes


def test_every_document_is_a_kubernetes_object(documents):
    assert len(documents) > 5
    for d in documents:
        assert {"apiVersion", "kind", "metadata"} <= d.keys() or d["kind"] == "Kustomization", d


def test_every_registered_service_has_a_web_deployment_with_probes(documents):
    deployments = of_kind(documents, "Deployment")
    for name, info in SERVICES.items():
        web = deployments[f"{name}-web"]
        assert web["spec"]["replicas"] >= 2, name
        container = only_container(web)
        command = container["command"]
        assert command[:3] == ["unionhub", "serve", name]
        assert command[command.index("--host") + 1] == "0.0.0.0"
        assert command[command.index("--port") + 1] == str(info.port)
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = container[probe]["httpGet"]
            assert get["path"] == path, (name, probe)
            assert port_number(container, get["port"]) == info.port, (name, probe)
        resources = container["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys()
        assert "memory" in resources["limits"]
        pod = web["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True


def test_every_registered_service_has_a_single_worker(documents):
    deployments = of_kind(documents, "Deployment")
    for name in SERVICES:
        worker = deployments[f"{name}-worker"]
        # One relay per service: a second one only waits on the first's row locks.
        assert worker["spec"]["replicas"] == 1, name
        assert worker["spec"]["strategy"]["type"] == "Recreate", name
        assert only_container(worker)["command"][:3] == ["unionhub", "worker", name]
        assert "resources" in only_container(worker)


def test_every_worker_serves_its_bus_metrics_where_prometheus_is_told_to_scrape(documents):
    deployments = of_kind(documents, "Deployment")
    for name in SERVICES:
        worker = deployments[f"{name}-worker"]
        container = only_container(worker)
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        annotations = worker["spec"]["template"]["metadata"]["annotations"]
        assert env["UNIONHUB_WORKER_METRICS_ADDR"] == "0.0.0.0", name  # loopback cannot be scraped
        port = int(env["UNIONHUB_WORKER_METRICS_PORT"])
        assert port_number(container, "metrics") == port, name
        assert annotations["prometheus.io/port"] == str(port), name
        assert annotations["prometheus.io/scrape"] == "true", name


def test_every_web_deployment_is_behind_a_service_on_its_port(documents):
    deployments, services = of_kind(documents, "Deployment"), of_kind(documents, "Service")
    for name, info in SERVICES.items():
        service = services[f"{name}-web"]
        pod_labels = deployments[f"{name}-web"]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pod_labels.items()
        assert [p["port"] for p in service["spec"]["ports"]] == [info.port]


def test_the_ingress_routes_every_gateway_prefix_to_the_same_service(documents):
    expected = gateway_routes()
    assert len(expected) > 10, "could not read the gateway's routes"
    routed = {}
    for ingress in of_kind(documents, "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                backend = p["backend"]["service"]
                routed[normalise(p["path"])] = (backend["name"], backend["port"]["number"])
    for prefix, service in expected.items():
        assert prefix in routed, f"the Ingress does not route {prefix}"
        backend, port = routed[prefix]
        assert backend == f"{service}-web", prefix
        if service in SERVICES:
            assert port == SERVICES[service].port, prefix
    assert set(routed) == set(expected), "the Ingress routes paths the gateway does not"


def test_services_get_the_shared_settings_and_their_secret(documents):
    config = of_kind(documents, "ConfigMap")["unionhub-config"]["data"]
    assert config["UNIONHUB_BIND_HOST"] == "0.0.0.0"
    assert config["KAFKA_BOOTSTRAP"].count(",") >= 2, "expects a cluster of at least three brokers"
    deployments = of_kind(documents, "Deployment")
    for name in SERVICES:
        for role in ("web", "worker"):
            sources = only_container(deployments[f"{name}-{role}"])["envFrom"]
            refs = {next(iter(s.values()))["name"] for s in sources}
            assert {"unionhub-config", "unionhub-shared", name} <= refs, (name, role)


def test_the_secret_template_holds_placeholders_only(documents):
    secrets = of_kind(documents, "Secret")
    assert {"unionhub-shared", "enrolment", "enrolment-jwt"} <= secrets.keys()
    for secret in secrets.values():
        for key, value in secret["stringData"].items():
            assert "REPLACE_ME" in value, f"{secret['metadata']['name']}.{key} looks like a real value"


def test_kustomization_applies_every_manifest_but_the_secret_template():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secrets.example.yaml"}
    assert set(kustomization["resources"]) == manifests
