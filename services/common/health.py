"""/healthz (the process answers), /readyz (its database, Redis and Kafka answer), /metrics."""

from __future__ import annotations

import socket
import time

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from .sql import READ_ONLY

health = Blueprint("health", __name__)


def _check_database(ctx) -> None:
    # Read-only: on SQLite a probe must not queue behind the writers for the write lock.
    with ctx.db.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
        conn.execute(text("SELECT 1"))


def _check_redis(ctx) -> None:
    ctx.redis.ping()


def _check_kafka(ctx) -> None:
    # A TCP connect to each bootstrap address is enough to know the broker is there; a full
    # client would cost a metadata round trip on every probe.
    errors = []
    for address in ctx.settings.kafka_bootstrap.split(","):
        host, _, port = address.strip().rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError as error:
            errors.append(f"{address}: {error}")
    raise ConnectionError("; ".join(errors))


CHECKS = {"database": _check_database, "redis": _check_redis, "kafka": _check_kafka}
# Kafka is checked and reported, but a web instance stays ready without it: writes go to the outbox
# and wait for the broker, so taking every instance out of the load balancer would turn a Kafka
# outage into a full outage.
REQUIRED = {"database", "redis"}


@health.get("/healthz")
def healthz():
    app = current_app._get_current_object()
    body = app.extensions.get("unionhub.healthz")
    if body is None:  # the same bytes every time: serialised once per app
        service = app.extensions["unionhub"].settings.service
        body = app.extensions["unionhub.healthz"] = jsonify(status="ok", service=service).get_data()
    return Response(body, mimetype="application/json")


@health.get("/readyz")
def readyz():
    ctx = current_app.extensions["unionhub"]
    results, ready = {}, True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check(ctx)
            results[name] = {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}
        except Exception as error:
            ready = ready and name not in REQUIRED
            results[name] = {"status": "down", "error": str(error)[:200]}
    degraded = any(r["status"] == "down" for r in results.values())
    status = "not_ready" if not ready else "degraded" if degraded else "ready"
    return jsonify(status=status, checks=results), 200 if ready else 503


@health.get("/metrics")
def metrics():
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
