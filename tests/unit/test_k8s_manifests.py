"""deploy/k8s runs every built service of services/registry.py and routes every declared route.

The generic web, worker and prune objects live once in deploy/k8s/base/service, the consumer of a
service that reacts to events in deploy/k8s/base/consumer; each service has a short overlay under
deploy/k8s/services/<name>. The numbers (HPA bounds, replicas, resources) are the capacity plan's and
tests/unit/test_capacity.py checks them. Two kinds of check:

* read with pyyaml, always: the overlays, the top-level kustomization and the Ingress against the
  registry, in both directions;
* rendered with `kustomize build` or `kubectl kustomize` when either is installed (skipped
  otherwise): the objects the cluster would get, with every placeholder of the base filled in.

The Ingress's body caps are held to the local and compose gateways' (deploy/local/registry_facts.py).
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml

from services.registry import ALL, SERVICES
from tests.support import registry_facts

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base" / "service"
CONSUMER_BASE = K8S / "base" / "consumer"
OVERLAYS = K8S / "services"
# Every pod has an address of its own, so every worker serves its metrics on the same port.
WORKER_METRICS_PORT = 9102
PLACEHOLDER = "SERVICE"


facts = registry_facts()
ANNOTATION = "nginx.ingress.kubernetes.io/"


def load_yaml(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kustomization(directory: Path) -> dict:
    return load_yaml(directory / "kustomization.yaml")[0]


def of_kind(documents, kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def normalise(prefix: str) -> str:
    # "/svc/enrolment(/|$)(.*)" (an ingress-nginx regex) and "/api/v1/auth/" both name a prefix.
    return prefix.split("(")[0].rstrip("/") or "/"


def consumes(name: str) -> bool:
    """Whether the service reacts to other services' events, and so runs a consumer of its own."""
    return bool(SERVICES[name].part("handlers"))


def roles(name: str) -> tuple[str, ...]:
    """Its Deployments: the web pods, the worker (relay and jobs) and, when it consumes, the consumer."""
    return ("web", "worker", "consumer") if consumes(name) else ("web", "worker")


def overlay_values(name: str) -> dict[str, str]:
    generators = {g["name"]: g for g in kustomization(OVERLAYS / name).get("configMapGenerator", [])}
    return dict(literal.split("=", 1) for literal in generators["service"]["literals"])


# ------------------------------------------------------------------ read as files, always ----


def test_every_built_service_has_an_overlay_and_nothing_else_does():
    overlays = {p.name for p in OVERLAYS.iterdir() if p.is_dir()}
    assert overlays == set(SERVICES)


def test_kustomization_applies_every_overlay_and_manifest_but_the_secret_template():
    resources = kustomization(K8S)["resources"]
    assert len(resources) == len(set(resources))
    # capacity.yaml is the plan the manifests follow, read by tests/unit/test_capacity.py only.
    not_applied = {"kustomization.yaml", "secrets.example.yaml", "capacity.yaml"}
    manifests = {p.name for p in K8S.glob("*.yaml")} - not_applied
    assert {r for r in resources if r.endswith(".yaml")} == manifests
    assert {r for r in resources if not r.endswith(".yaml")} == {f"services/{name}" for name in SERVICES}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_each_overlay_states_its_service_and_port_as_the_registry_does(name):
    overlay = kustomization(OVERLAYS / name)
    assert overlay["namePrefix"] == f"{name}-"
    expected = ["../../base/service", "../../base/consumer"] if consumes(name) else ["../../base/service"]
    assert overlay["components"] == expected
    assert overlay_values(name) == {"service": name, "port": str(SERVICES[name].port)}


def component_objects(directory: Path) -> set[tuple[str, str]]:
    component = kustomization(directory)
    assert component["kind"] == "Component"
    documents = [d for path in component["resources"] for d in load_yaml(directory / path)]
    return {(d["kind"], d["metadata"]["name"]) for d in documents}


def test_the_base_holds_the_generic_objects_of_a_service():
    assert component_objects(BASE) == {
        ("Service", "web"),
        ("Deployment", "web"),
        ("PodDisruptionBudget", "web"),
        ("HorizontalPodAutoscaler", "web"),
        ("Deployment", "worker"),
        ("CronJob", "prune"),
    }
    assert component_objects(CONSUMER_BASE) == {
        ("Deployment", "consumer"),
        ("PodDisruptionBudget", "consumer"),
    }


def ingress_routes() -> dict[str, tuple[str, int]]:
    routed = {}
    for ingress in of_kind(load_yaml(K8S / "ingress.yaml"), "Ingress").values():
        for rule in ingress["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                backend = p["backend"]["service"]
                prefix = normalise(p["path"])
                assert prefix not in routed, f"the Ingress routes {prefix} twice"
                routed[prefix] = (backend["name"], backend["port"]["number"])
    return routed


def test_the_ingress_routes_exactly_the_registry_routes_to_their_services():
    expected = {}
    for s in ALL:
        for route in (*s.routes, f"/svc/{s.name}/"):
            expected[normalise(route)] = (f"{s.name}-web", s.port)
    assert ingress_routes() == expected


def ingress_paths():
    """(Ingress, its annotations, host, path prefix as the registry writes it) for every routed path."""
    for name, ingress in of_kind(load_yaml(K8S / "ingress.yaml"), "Ingress").items():
        notes = {k.removeprefix(ANNOTATION): v for k, v in ingress["metadata"].get("annotations", {}).items()}
        for rule in ingress["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                yield name, notes, rule["host"], normalise(p["path"])


def test_every_ingress_path_caps_its_body_as_the_gateways_do():
    for name, notes, _, prefix in ingress_paths():
        route = (
            "/svc/"
            if prefix.startswith("/svc/")
            else next(r for s in ALL for r in s.routes if normalise(r) == prefix)
        )
        assert notes["proxy-body-size"] == facts.body_limit(route), (name, prefix)
        assert 0 < facts.size_bytes(notes["proxy-body-size"]) < facts.SERVICE_BODY_LIMIT, name
        # A body is read whole before the service is contacted ("on" is ingress-nginx's default).
        assert notes.get("proxy-request-buffering", "on") == "on", name


def test_operations_endpoints_are_only_on_the_internal_host_for_internal_addresses():
    for name, notes, host, prefix in ingress_paths():
        if prefix.startswith("/svc/"):
            assert host.endswith(".internal"), (name, host)
            ranges = notes["whitelist-source-range"].split(",")
            assert ranges and all(r.startswith(("10.", "172.16.", "192.168.")) for r in ranges), name
        else:
            assert not host.endswith(".internal"), (name, prefix)
        assert not prefix.startswith("/fake/"), "the fakes' routes are local only"


def test_the_secret_template_holds_placeholders_only():
    secrets = of_kind(load_yaml(K8S / "secrets.example.yaml"), "Secret")
    assert {"unionhub-shared", "enrolment", "enrolment-jwt"} <= secrets.keys()
    for secret in secrets.values():
        for key, value in secret["stringData"].items():
            assert "REPLACE_ME" in value, f"{secret['metadata']['name']}.{key} looks like a real value"
    for name in SERVICES.keys() & secrets.keys():
        url = secrets[name]["stringData"]["DATABASE_URL"]
        assert url.rsplit("/", 1)[1] == SERVICES[name].database, name


# ------------------------------------------------------------- rendered, when a tool is here ----


def kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@cache
def render(directory: Path) -> tuple[dict, ...]:
    command = kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed: the overlays were only read, not built")
    result = subprocess.run([*command, str(directory)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


@pytest.fixture(scope="module")
def documents() -> tuple[dict, ...]:
    return render(K8S)


def only_container(workload: dict) -> dict:
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1
    return containers[0]


def pod_spec(workload: dict) -> dict:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def port_number(container: dict, port) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p["name"] == port)


def secret_refs(container: dict) -> set[str]:
    return {next(iter(s.values()))["name"] for s in container["envFrom"]}


def test_every_document_is_a_kubernetes_object_in_the_namespace(documents):
    assert len(documents) > 5
    for d in documents:
        assert {"apiVersion", "kind", "metadata"} <= d.keys(), d
        if d["kind"] != "Namespace":
            assert d["metadata"]["namespace"] == "unionhub", d["metadata"]["name"]


def test_no_placeholder_of_the_base_is_left(documents):
    text = yaml.safe_dump_all(documents)
    assert PLACEHOLDER not in text
    for d in documents:
        if d["kind"] in ("Deployment", "CronJob"):
            for container in pod_spec(d).get("initContainers", []) + pod_spec(d)["containers"]:
                for port in container.get("ports", []):
                    assert port["containerPort"] > 0, d["metadata"]["name"]
    for service in of_kind(documents, "Service").values():
        assert all(p["port"] > 0 for p in service["spec"]["ports"])
    # The overlay's values build the objects; they are not applied themselves.
    assert not [d for d in documents if d["kind"] == "ConfigMap" and "-service" in d["metadata"]["name"]]


def test_exactly_the_built_services_run(documents):
    deployments = of_kind(documents, "Deployment")
    assert set(deployments) == {f"{name}-{role}" for name in SERVICES for role in roles(name)}
    assert set(of_kind(documents, "CronJob")) == {f"{name}-prune" for name in SERVICES}


def test_every_registered_service_has_a_web_deployment_with_probes(documents):
    deployments = of_kind(documents, "Deployment")
    autoscalers = of_kind(documents, "HorizontalPodAutoscaler")
    for name, info in SERVICES.items():
        web = deployments[f"{name}-web"]
        # Its HPA owns the replica count, never fewer than two; a count in the Deployment would be
        # reasserted by every apply, undoing a scale-up.
        assert "replicas" not in web["spec"], name
        hpa = autoscalers[f"{name}-web"]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{name}-web"}
        assert hpa["minReplicas"] >= 2, name
        container = only_container(web)
        command = container["command"]
        assert command[:3] == ["unionhub", "serve", name]
        assert command[command.index("--host") + 1] == "0.0.0.0"
        assert command[command.index("--port") + 1] == str(info.port)
        assert port_number(container, "http") == info.port
        annotations = web["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == str(info.port), name
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = container[probe]["httpGet"]
            assert get["path"] == path, (name, probe)
            assert port_number(container, get["port"]) == info.port, (name, probe)
        resources = container["resources"]
        assert {"cpu", "memory"} <= resources["requests"].keys()
        assert "memory" in resources["limits"]
        pod = pod_spec(web)
        assert pod["securityContext"]["runAsNonRoot"] is True
        spread = pod["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]
        assert spread.items() <= web["spec"]["template"]["metadata"]["labels"].items(), name


def test_every_web_pod_migrates_its_database_before_it_serves(documents):
    deployments = of_kind(documents, "Deployment")
    for name in SERVICES:
        init = pod_spec(deployments[f"{name}-web"])["initContainers"]
        assert [c["command"] for c in init] == [["unionhub", "db", "upgrade", name]], name
        assert {"unionhub-config", "unionhub-shared", name} <= secret_refs(init[0]), name


def test_every_registered_service_has_a_single_worker(documents):
    deployments = of_kind(documents, "Deployment")
    for name in SERVICES:
        worker = deployments[f"{name}-worker"]
        # One relay per service: a second one only waits for the first's advisory lock.
        assert worker["spec"]["replicas"] == 1, name
        assert worker["spec"]["strategy"]["type"] == "Recreate", name
        command = only_container(worker)["command"]
        assert command == ["unionhub", "worker", name, "--role", "relay", "--role", "jobs"], name
        assert "resources" in only_container(worker)


def test_a_service_that_reacts_to_events_consumes_them_in_a_deployment_of_its_own(documents):
    deployments = of_kind(documents, "Deployment")
    for name in (n for n in SERVICES if consumes(n)):
        consumer = deployments[f"{name}-consumer"]
        assert only_container(consumer)["command"] == ["unionhub", "worker", name, "--role", "consumer"]
        # Instances may overlap in a rollout: the inbox makes a redelivered event a no-op.
        assert consumer["spec"].get("strategy", {}).get("type", "RollingUpdate") == "RollingUpdate", name
        budget = of_kind(documents, "PodDisruptionBudget")[f"{name}-consumer"]["spec"]
        pod_labels = consumer["spec"]["template"]["metadata"]["labels"]
        assert budget["selector"]["matchLabels"].items() <= pod_labels.items(), name


def test_every_worker_serves_its_bus_metrics_where_prometheus_is_told_to_scrape(documents):
    deployments = of_kind(documents, "Deployment")
    for name, role in ((n, r) for n in SERVICES for r in roles(n) if r != "web"):
        worker = deployments[f"{name}-{role}"]
        container = only_container(worker)
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        annotations = worker["spec"]["template"]["metadata"]["annotations"]
        assert env["UNIONHUB_WORKER_METRICS_ADDR"] == "0.0.0.0", name  # loopback cannot be scraped
        assert int(env["UNIONHUB_WORKER_METRICS_PORT"]) == WORKER_METRICS_PORT, name
        assert port_number(container, "metrics") == WORKER_METRICS_PORT, name
        assert annotations["prometheus.io/port"] == str(WORKER_METRICS_PORT), name
        assert annotations["prometheus.io/scrape"] == "true", name


def test_every_service_prunes_its_bus_tables_daily(documents):
    cronjobs = of_kind(documents, "CronJob")
    for name in SERVICES:
        prune = cronjobs[f"{name}-prune"]
        assert prune["spec"]["concurrencyPolicy"] == "Forbid", name
        container = only_container(prune)
        assert container["command"] == ["unionhub", "prune", name, "--days", "30"], name
        assert {"unionhub-config", "unionhub-shared", name} <= secret_refs(container), name
        assert pod_spec(prune)["securityContext"]["runAsNonRoot"] is True, name


def test_every_container_meets_the_restricted_pod_security_standard(documents):
    # The namespace enforces it: a container without these is refused at admission.
    for d in documents:
        if d["kind"] in ("Deployment", "CronJob", "Job"):
            spec = pod_spec(d)
            for container in spec.get("initContainers", []) + spec["containers"]:
                context = container.get("securityContext", {})
                where = (d["metadata"]["name"], container["name"])
                assert context.get("allowPrivilegeEscalation") is False, where
                assert context.get("capabilities", {}).get("drop") == ["ALL"], where


def test_every_web_deployment_is_behind_a_service_on_its_port(documents):
    deployments, services = of_kind(documents, "Deployment"), of_kind(documents, "Service")
    for name, info in SERVICES.items():
        service = services[f"{name}-web"]
        pod_labels = deployments[f"{name}-web"]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= pod_labels.items()
        assert [p["port"] for p in service["spec"]["ports"]] == [info.port]
        budget = of_kind(documents, "PodDisruptionBudget")[f"{name}-web"]
        assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    # Selectors that overlap would mix two services' pods behind one Service.
    selectors = [tuple(sorted(s["spec"]["selector"].items())) for s in services.values()]
    assert len(selectors) == len(set(selectors))


def test_services_get_the_shared_settings_and_their_secret(documents):
    config = of_kind(documents, "ConfigMap")["unionhub-config"]["data"]
    assert config["UNIONHUB_BIND_HOST"] == "0.0.0.0"
    assert config["KAFKA_BOOTSTRAP"].count(",") >= 2, "expects a cluster of at least three brokers"
    deployments = of_kind(documents, "Deployment")
    for name in SERVICES:
        for role in roles(name):
            refs = secret_refs(only_container(deployments[f"{name}-{role}"]))
            assert {"unionhub-config", "unionhub-shared", name} <= refs, (name, role)


def test_enrolment_alone_gets_the_signing_keys(documents):
    deployments = of_kind(documents, "Deployment")
    for name in SERVICES:
        volumes = {v["name"]: v for v in pod_spec(deployments[f"{name}-web"])["volumes"]}
        if name == "enrolment":
            assert volumes["jwt"]["secret"]["secretName"] == "enrolment-jwt"
            env = {e["name"]: e["value"] for e in only_container(deployments[f"{name}-web"])["env"]}
            assert env["UNIONHUB_JWT_KEYS_FILE"].startswith("/etc/unionhub/jwt/")
        else:
            assert "jwt" not in volumes, name
