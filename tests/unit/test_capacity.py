"""The capacity plan's numbers (deploy/k8s/capacity.yaml) against everything that carries them.

docs/capacity.md derives the plan from measured figures; capacity.yaml holds its numbers once. This
fails when

* the plan stops covering what it was derived for: the web HPAs' ceilings below the peaks, fewer
  consumer instances than a peak needs or more than a topic's partitions, PgBouncer and
  ``max_connections`` short of the pools that open connections to them;
* the topic catalogue, the gunicorn size of config.yaml or the SQLAlchemy pool is not the plan's;
* docs/capacity.md's tables of the numbers say something else;
* the manifests as kustomize renders them disagree: web HPA bounds and target, PodDisruptionBudgets,
  each Deployment's replicas and resources (skipped, like tests/unit/test_k8s_manifests.py's
  rendered checks, when neither kustomize nor kubectl is installed).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url

from events.catalogue import CATALOGUE
from services.common import postgres
from services.registry import SERVICES
from tests.unit.test_k8s_manifests import K8S, consumes, load_yaml, of_kind, only_container, pod_spec, render

PLAN = yaml.safe_load((K8S / "capacity.yaml").read_text())
DOC = Path(__file__).resolve().parents[2] / "docs" / "capacity.md"
TARGET = PLAN["target_cpu_percent"] / 100
POOL = PLAN["web_pod"]["sqlalchemy_pool"]
CONNECTIONS_PER_PROCESS = POOL["size"] + POOL["overflow"]
_UNITS = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "": 1}


def quantity(value) -> float:
    """A Kubernetes quantity as a number: "250m" CPU is 0.25, "384Mi" is bytes; "2" and 2 are equal."""
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value)).groups()
    return float(number) * _UNITS[unit]


def same_resources(carried: dict, planned: dict) -> bool:
    def normal(r):
        return {kind: {k: quantity(v) for k, v in r[kind].items()} for kind in ("requests", "limits")}

    return carried.keys() == {"requests", "limits"} and normal(carried) == normal(planned)


def topics_read(name: str) -> set[str]:
    """The topics a service's consumer group reads: those of the event types its handlers take."""
    return {CATALOGUE.topic_for(event_type).name for event_type in SERVICES[name].part("handlers")}


def plans():
    return sorted(PLAN["services"].items())


NAMES = sorted(PLAN["services"])


# -------------------------------------------------------- the plan covers what it is for ----


def test_the_plan_has_every_built_service_and_a_consumer_exactly_for_those_that_consume():
    assert PLAN["services"].keys() == SERVICES.keys()
    for name, plan in plans():
        assert ("consumer" in plan) == consumes(name), name
        assert plan["worker"]["replicas"] == 1, f"{name}: one relay per service (base/service/worker.yaml)"


@pytest.mark.parametrize("name", NAMES)
def test_the_web_autoscaler_reaches_the_peak_at_the_target(name):
    plan = PLAN["services"][name]
    web = plan["web"]
    cores_per_pod = quantity(web["resources"]["requests"]["cpu"])
    # At the HPA's target a pod does request x target of work; its ceiling must carry the peak.
    assert web["hpa"]["max"] * cores_per_pod * TARGET >= web["peak_cores"], name
    # Two pods at least, for a rollout or a node lost; room to double the floor for a surge of the
    # always-on load, which is assumed rather than given.
    assert web["hpa"]["min"] >= 2, name
    assert web["hpa"]["max"] >= 2 * web["hpa"]["min"], name
    # The request is what two GIL-bound gunicorn processes can use: no more, or the HPA's
    # percentage would count cores the pod can never use.
    assert cores_per_pod <= PLAN["web_pod"]["gunicorn_workers"], name


def test_the_catalogue_creates_the_planned_partitions():
    assert {t.name: t.partitions for t in CATALOGUE.topics.values()} == {
        name: topic["partitions"] for name, topic in PLAN["topics"].items()
    }


@pytest.mark.parametrize("name", sorted(n for n in SERVICES if consumes(n)))
def test_consumer_instances_keep_up_and_fit_the_partitions_of_every_topic_they_read(name):
    instances = PLAN["services"][name]["consumer"]["replicas"]
    for topic in topics_read(name):
        planned = PLAN["topics"][topic]
        # An instance beyond a topic's partitions would get none of it: parallelism ends there.
        assert instances <= planned["partitions"], (name, topic)
        capacity = instances * PLAN["consumer_events_per_second"]
        assert capacity >= planned["peak_events_per_second"], (name, topic)


@pytest.mark.parametrize("topic", sorted(PLAN["topics"]))
def test_every_topic_can_take_twice_the_consumers_its_peak_needs(topic):
    planned = PLAN["topics"][topic]
    # Adding partitions later moves keys and breaks their order, so the counts carry the room now.
    needed = math.ceil(planned["peak_events_per_second"] / PLAN["consumer_events_per_second"])
    assert planned["partitions"] >= 2 * needed, topic


@pytest.mark.parametrize("name", NAMES)
def test_each_database_carries_its_peak_and_its_connections(name):
    plan = PLAN["services"][name]
    db = plan["database"]
    assert db["vcpu"] * TARGET >= db["peak_cores"], name
    # Every process that may connect through PgBouncer, at its pool's ceiling: each web pod's
    # gunicorn processes and each consumer instance.
    consumers = plan.get("consumer", {}).get("replicas", 0)
    clients = plan["web"]["hpa"]["max"] * PLAN["web_pod"]["gunicorn_workers"] + consumers
    assert db["pgbouncer"]["max_client_conn"] >= clients * CONNECTIONS_PER_PROCESS, name
    # PostgreSQL itself: PgBouncer's server connections, the relay's direct pool, and the reserve.
    direct = plan["worker"]["replicas"] * CONNECTIONS_PER_PROCESS
    assert db["max_connections"] >= db["pgbouncer"]["pool_size"] + direct + PLAN["reserved_connections"], name


def test_the_web_pod_of_the_plan_is_the_one_configured():
    config = of_kind(load_yaml(K8S / "config.yaml"), "ConfigMap")["unionhub-config"]["data"]
    assert int(config["UNIONHUB_WEB_WORKERS"]) == PLAN["web_pod"]["gunicorn_workers"]
    assert int(config["UNIONHUB_WEB_THREADS"]) == PLAN["web_pod"]["gunicorn_threads"]
    # Built, not connected: the pool's bounds are what every process of every service gets.
    pool = postgres.make_engine(make_url("postgresql+psycopg://plan@127.0.0.1:1/plan")).pool
    assert (pool.size(), pool._max_overflow) == (POOL["size"], POOL["overflow"])


# --------------------------------------------------------------- the doc shows the plan ----


def doc_rows(heading: str) -> dict[str, list[str]]:
    """The rows of the first table under ``heading`` in docs/capacity.md, by their first cell."""
    section = DOC.read_text().split(f"\n{heading}\n", 1)[1]
    table = re.search(r"^\|.*\|\n\|[-| :]+\|\n((?:\|.*\|\n)+)", section, re.M)
    assert table, f"no table under {heading}"
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.group(1).splitlines()]
    return {row[0].strip("`"): row[1:] for row in rows}


def figure(number) -> str:
    return f"{number:,}"


def test_the_doc_shows_the_plans_numbers_for_each_service():
    rows = doc_rows("## The numbers")
    assert rows.keys() == PLAN["services"].keys()
    for name, plan in plans():
        web, db = plan["web"], plan["database"]
        consumer = plan.get("consumer")
        assert rows[name] == [
            f"{web['hpa']['min']}–{web['hpa']['max']}",
            str(web["peak_cores"]),
            str(web["pdb_max_unavailable"]),
            str(plan["worker"]["replicas"]),
            str(consumer["replicas"]) if consumer else "—",
            str(db["vcpu"]),
            figure(db["pgbouncer"]["pool_size"]),
            figure(db["pgbouncer"]["max_client_conn"]),
            figure(db["max_connections"]),
        ], name


def test_the_doc_shows_the_plans_partitions_and_who_reads_each_topic():
    rows = doc_rows("### Partitions")
    assert rows.keys() == PLAN["topics"].keys()
    for topic, planned in PLAN["topics"].items():
        readers = sorted(n for n in SERVICES if consumes(n) and topic in topics_read(n))
        instances = (f"{n} ({PLAN['services'][n]['consumer']['replicas']})" for n in readers)
        groups = ", ".join(instances) or "none yet"
        partitions, peak = figure(planned["partitions"]), figure(planned["peak_events_per_second"])
        assert rows[topic] == [partitions, peak, groups], topic


# ------------------------------------------------------------- the manifests carry it ----


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, dict]]:
    """Every rendered object by kind and name."""
    documents = render(K8S)
    return {kind: of_kind(documents, kind) for kind in {d["kind"] for d in documents}}


@pytest.mark.parametrize("name", NAMES)
def test_the_web_pods_scale_between_the_plans_bounds_at_its_target(rendered, name):
    plan = PLAN["services"][name]
    hpa = rendered["HorizontalPodAutoscaler"][f"{name}-web"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (plan["web"]["hpa"]["min"], plan["web"]["hpa"]["max"])
    assert hpa["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": PLAN["target_cpu_percent"]},
            },
        }
    ]
    web = rendered["Deployment"][f"{name}-web"]
    assert same_resources(only_container(web)["resources"], plan["web"]["resources"]), name
    budget = rendered["PodDisruptionBudget"][f"{name}-web"]["spec"]
    assert budget.get("maxUnavailable") == plan["web"]["pdb_max_unavailable"] and "minAvailable" not in budget


@pytest.mark.parametrize("name", NAMES)
def test_the_worker_and_the_consumer_run_as_many_as_planned_with_the_plans_resources(rendered, name):
    plan = PLAN["services"][name]
    deployments, budgets = rendered["Deployment"], rendered["PodDisruptionBudget"]
    worker = deployments[f"{name}-worker"]
    assert worker["spec"]["replicas"] == plan["worker"]["replicas"]
    assert same_resources(only_container(worker)["resources"], plan["worker"]["resources"]), name
    assert f"{name}-worker" not in budgets, "a budget for the single relay would block node drains"
    if "consumer" not in plan:
        assert f"{name}-consumer" not in deployments
        return
    consumer = deployments[f"{name}-consumer"]
    assert consumer["spec"]["replicas"] == plan["consumer"]["replicas"]
    assert same_resources(only_container(consumer)["resources"], plan["consumer"]["resources"]), name
    budget = budgets[f"{name}-consumer"]["spec"]
    assert budget.get("maxUnavailable") == plan["consumer"]["pdb_max_unavailable"], name


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_only_the_relay_bypasses_pgbouncer(rendered, name):
    # The relay holds a session advisory lock (events/relay.py), which a transaction-mode pooler
    # hands to whichever client comes next: the worker reads DIRECT_DATABASE_URL, everything else
    # DATABASE_URL (PgBouncer).
    direct = {"name": name, "key": "DIRECT_DATABASE_URL", "optional": True}
    env = {e["name"]: e for e in only_container(rendered["Deployment"][f"{name}-worker"])["env"]}
    assert env["UNIONHUB_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == direct
    deployments = rendered["Deployment"]
    others = [deployments[f"{name}-web"], *([deployments[f"{name}-consumer"]] if consumes(name) else [])]
    for workload in others:
        spec = pod_spec(workload)
        for container in spec.get("initContainers", []) + spec["containers"]:
            names = {e["name"] for e in container.get("env", [])}
            assert "UNIONHUB_DATABASE_URL" not in names, (name, container["name"])
