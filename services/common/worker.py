"""A service's event worker: the outbox relay, the consumer runner and the service's timed jobs,
in one process or apart.

Every loop restarts itself after an unexpected error; a timed job that fails is logged and tried
again at its next turn while the others keep theirs. SIGTERM or SIGINT stops them cleanly.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis
from prometheus_client import start_http_server

from events import metrics
from events.consumer import ConsumerRunner, default_consumer
from events.dispatch import Dispatcher, Handler
from events.relay import Relay, default_producer

from .config import Settings
from .db import Database
from .observability import configure_logging

log = logging.getLogger(__name__)

ROLES = ("relay", "consumer", "jobs")


@dataclass(frozen=True)
class Job:
    """Work a service does on a timer, not in answer to a request or an event: sessions that ended
    leave no-shows, duties nobody took become missed. Each run must be safe to repeat and to run on
    two workers at once (mark what was done in the same transaction, skip rows another one holds)."""

    name: str
    every_seconds: float
    run: Callable[[Settings, Database, redis.Redis], int]  # how many things it did, for the log


def run_jobs(settings: Settings, db: Database, jobs: list[Job], stop: threading.Event) -> None:
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    due = dict.fromkeys((job.name for job in jobs), 0.0)
    while not stop.is_set():
        for job in jobs:
            if time.monotonic() < due[job.name]:
                continue
            _run_once(job, settings, db, client)
            due[job.name] = time.monotonic() + job.every_seconds
        stop.wait(1)


def _run_once(job: Job, settings: Settings, db: Database, client: redis.Redis) -> None:
    try:
        done = job.run(settings, db, client)
    except Exception:
        # Caught here, not by _supervise: a restart put the failing job first again and the jobs after
        # it never got a turn (stations' finder on Redis, while its database was down). Its heartbeat
        # stays still, so a job that keeps failing is seen.
        log.exception("job %s failed; trying again in %.0fs", job.name, job.every_seconds)
        return
    if done:
        log.info("%s: %d", job.name, done)
    metrics.LOOP_HEARTBEAT.labels(settings.service, f"job:{job.name}").set_to_current_time()


def build_relay(settings: Settings, db: Database, **options) -> Relay:
    return Relay(
        db.engine,
        db.outbox,
        lambda: default_producer(settings.kafka_bootstrap, client_id=f"{settings.service}-relay"),
        service=settings.service,
        **options,
    )


def build_consumer(
    settings: Settings, db: Database, handlers: dict[str, Handler], *, group_id: str | None = None, **options
) -> ConsumerRunner:
    group = group_id or settings.service
    dispatcher = Dispatcher(group, handlers, db.catalogue, db.unit_of_work, db.inbox, **options)
    return ConsumerRunner(
        dispatcher,
        default_consumer(settings.kafka_bootstrap, group),
        lambda: default_producer(settings.kafka_bootstrap, client_id=f"{group}-dlq"),
    )


def _supervise(name: str, loop: Callable[[threading.Event], None], stop: threading.Event) -> None:
    backoff = 0.5
    while not stop.is_set():
        try:
            loop(stop)
        except Exception:
            log.exception("%s crashed; restarting in %.1fs", name, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, 10.0)


def run(
    settings: Settings,
    db: Database,
    handlers: dict[str, Handler],
    roles: tuple[str, ...] = ROLES,
    stop: threading.Event | None = None,
    jobs: list[Job] = (),
) -> None:
    stop = stop or threading.Event()
    configure_logging(settings.service, settings.log_level)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_addr)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())

    loops: dict[str, Callable[[threading.Event], None]] = {}
    if "relay" in roles:
        loops["relay"] = build_relay(settings, db).run
    if "consumer" in roles and handlers:
        loops["consumer"] = build_consumer(settings, db, handlers).run
    if "jobs" in roles and jobs:
        loops["jobs"] = lambda stop_event: run_jobs(settings, db, list(jobs), stop_event)
    threads = [
        threading.Thread(
            target=_supervise, args=(name, loop, stop), name=f"{settings.service}-{name}", daemon=True
        )
        for name, loop in loops.items()
    ]
    for t in threads:
        t.start()
    log.info("worker for %s running: %s", settings.service, ", ".join(loops) or "nothing to do")
    while not stop.is_set():
        stop.wait(1)
    for t in threads:
        t.join(timeout=30)
