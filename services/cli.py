"""The ``unionhub`` command: serve a service, run its worker, manage topics and dead letters, seed."""

from __future__ import annotations

import argparse
import os
import sys

from events import admin, dlq
from events.relay import default_producer

from .registry import FAKES, SERVICES


def _bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP", admin.DEFAULT_BOOTSTRAP)


ACCESS_LOG_FORMAT = (
    '{"remote":"%(h)s","request":"%(r)s","status":%(s)s,"ms":%(M)s,"request_id":"%({x-request-id}i)s"}'
)


def serve(args) -> int:
    if args.service in FAKES:
        target, port = f"services.fakes.{args.service}:create_app()", FAKES[args.service]
    else:
        target, port = f"services.common.kit:create_app({args.service!r})", SERVICES[args.service].port
    port = args.port or port
    os.execvp(
        sys.executable,
        [
            sys.executable, "-m", "gunicorn", target,
            "--bind", f"{args.host}:{port}",
            "--workers", str(args.workers),
            "--threads", str(args.threads),
            "--access-logfile", "-",
            "--access-logformat", ACCESS_LOG_FORMAT,
            # The same access lines as gunicorn's own logger, for a third of its CPU per request.
            "--logger-class", "services.common.observability.AccessLogger",
        ],
    )  # fmt: skip
    return 0


def worker(args) -> int:
    from .common import kit

    if args.role:
        kit.run_worker(args.service, tuple(args.role))
    else:
        kit.run_worker(args.service)
    return 0


def topics(args) -> int:
    if not admin.wait_for_broker(_bootstrap(), args.timeout):
        print("kafka did not answer", file=sys.stderr)
        return 1
    created = admin.ensure_topics(_bootstrap(), replication=args.replication)
    print("created: " + (", ".join(created) or "none (all present)"))
    return 0


def dlq_command(args) -> int:
    if args.action == "list":
        for d in dlq.list_dead_letters(_bootstrap(), args.topic):
            print(f"{d.offset}\t{d.consumer}\t{d.event_type}\t{d.event_id}\t{d.kind}\t{d.error}")
        return 0
    count = dlq.replay(
        _bootstrap(), args.topic, lambda: default_producer(_bootstrap(), client_id="dlq-replay")
    )
    print(f"replayed {count} event(s) from {args.topic}.dlq to {args.topic}")
    return 0


def seed(args) -> int:
    """Every service's demo data, in the registry's order (enrolment's union tree comes first)."""
    for command in _service_commands():
        if command.name == "seed":
            command.run(args)
    return 0


def prune(args) -> int:
    from datetime import UTC, datetime, timedelta

    from events.store import prune as prune_bus_tables

    from .common import idempotency, kit

    database = kit.database(args.service, kit.load_settings(args.service))
    sent, seen = prune_bus_tables(
        database.engine, database.outbox, database.inbox, datetime.now(UTC) - timedelta(days=args.days)
    )
    print(
        f"{args.service}: deleted {sent} sent outbox row(s) and {seen} inbox row(s) over {args.days} days old"
    )
    # Idempotency records hold personal data: they go when they expire, whatever --days says.
    table = database.metadata.tables.get("idempotency_keys")
    if table is not None:
        with database.engine.begin() as conn:
            expired = idempotency.prune(conn, table, datetime.now(UTC) - idempotency.TTL)
        print(f"{args.service}: deleted {expired} idempotency record(s) past their {idempotency.TTL}")
    return 0


def db(args) -> int:
    """Schema migrations: services/common/migrations.py, revisions in services/<name>/migrations/."""
    from .common import migrations

    name = args.service
    if args.action == "upgrade":
        migrations.upgrade(name)
        print(f"{name}: at {', '.join(migrations.current(name))} (head)")
        return 0
    if args.action == "current":
        at, heads = migrations.current(name), migrations.heads(name)
        state = "head" if set(at) == set(heads) else f"head is {', '.join(heads)}"
        print(f"{name}: {', '.join(at) or 'not migrated yet'} ({state})")
        return 0
    if args.action == "revision":
        path = migrations.revision(name, args.message)
        print(f"{name}: wrote {path}; read it before committing (renames and data are not detected)")
        return 0
    found = migrations.compare(name) if args.live else migrations.differences(name)
    if not found:
        where = "its database has" if args.live else "the migrations make"
        print(f"{name}: {where} exactly the tables the code declares")
        return 0
    where = "its database" if args.live else "what its migrations make"
    print(f"{name}: the tables the code declares differ from {where}:")
    for difference in found:
        print(f"  {difference}")
    if not args.live:
        print(f'write the missing revision with: unionhub db revision {name} -m "what changed"')
    return 1


def _service_commands():
    for service in SERVICES.values():
        yield from service.optional_part("commands", [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="unionhub", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve a service's HTTP API with gunicorn")
    p.add_argument("service", choices=[*SERVICES, *FAKES])
    p.add_argument("--port", type=int)
    # Loopback by default: locally the gateway is the only way in. Containers bind 0.0.0.0.
    p.add_argument("--host", default=os.environ.get("UNIONHUB_BIND_HOST", "127.0.0.1"))
    p.add_argument("--workers", type=int, default=int(os.environ.get("UNIONHUB_WEB_WORKERS", "2")))
    p.add_argument("--threads", type=int, default=int(os.environ.get("UNIONHUB_WEB_THREADS", "4")))
    p.set_defaults(run=serve)

    p = sub.add_parser("worker", help="run a service's outbox relay and event consumer")
    p.add_argument("service", choices=list(SERVICES))
    p.add_argument(
        "--role", action="append", choices=["relay", "consumer", "jobs"], help="only this loop (repeatable)"
    )
    p.set_defaults(run=worker)

    p = sub.add_parser("topics", help="create the catalogue's topics and their dead-letter topics")
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--replication", type=int, default=1, help="replicas per partition (3 on a cluster)")
    p.set_defaults(run=topics)

    p = sub.add_parser("dlq", help="inspect or replay a dead-letter topic")
    p.add_argument("action", choices=["list", "replay"])
    p.add_argument("--topic", required=True, help="the original topic, e.g. members")
    p.set_defaults(run=dlq_command)

    p = sub.add_parser("seed", help="load demo data (units, campaigns, staff) from shared/domain")
    p.add_argument("--domain", default=None, help="path to guizhou.json")
    p.set_defaults(run=seed)

    p = sub.add_parser("prune", help="delete sent outbox rows and old inbox rows of a service")
    p.add_argument("service", choices=list(SERVICES))
    # Longer than the topics' retention (Kafka's default: 7 days), so nothing can be redelivered.
    p.add_argument("--days", type=int, default=30)
    p.set_defaults(run=prune)

    p = sub.add_parser("db", help="migrate a service's database schema (Alembic)")
    actions = p.add_subparsers(dest="action", required=True)
    a = actions.add_parser(
        "upgrade", help="bring the database to the latest revision (adopts one made before migrations)"
    )
    a.add_argument("service", choices=list(SERVICES))
    a = actions.add_parser("current", help="the revision the database is at")
    a.add_argument("service", choices=list(SERVICES))
    a = actions.add_parser(
        "check", help="exit 1 if the code's tables differ from what the migrations make from empty"
    )
    a.add_argument("service", choices=list(SERVICES))
    a.add_argument("--live", action="store_true", help="compare the configured database as it is instead")
    a = actions.add_parser("revision", help="autogenerate a revision file for what the migrations lack")
    a.add_argument("service", choices=list(SERVICES))
    a.add_argument("-m", "--message", required=True)
    p.set_defaults(run=db)

    for command in _service_commands():
        if command.name == "seed":
            continue
        p = sub.add_parser(command.name, help=command.help)
        for arg_names, options in command.arguments:
            p.add_argument(*arg_names, **options)
        p.set_defaults(run=command.run)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
