"""Broker administration: wait for Kafka to answer, create the catalogue's topics.

Run as ``python -m events.admin wait|ensure-topics`` from the deploy scripts (before the
``unionhub`` command is installed) or through ``unionhub topics``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from .catalogue import CATALOGUE, Catalogue

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"


def wait_for_broker(bootstrap: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        except KafkaError:
            time.sleep(0.5)
            continue
        try:
            admin.describe_cluster()
            return True
        except KafkaError:
            time.sleep(0.5)
        finally:
            admin.close()
    return False


def ensure_topics(
    bootstrap: str, catalogue: Catalogue = CATALOGUE, *, replication: int = 1, dlq_partitions: int = 1
) -> list[str]:
    """Create every topic of the catalogue and its dead-letter topic; return the ones created."""
    wanted = []
    for topic in catalogue.topics.values():
        wanted.append(NewTopic(topic.name, topic.partitions, replication))
        wanted.append(NewTopic(topic.dlq, dlq_partitions, replication))
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        existing = set(admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created them between our list and create
        return [t.name for t in missing]
    finally:
        admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m events.admin")
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP", DEFAULT_BOOTSTRAP))
    sub = parser.add_subparsers(dest="command", required=True)
    wait = sub.add_parser("wait", help="wait until the broker answers an admin request")
    wait.add_argument("--timeout", type=float, default=120)
    sub.add_parser("ensure-topics", help="create the catalogue's topics and their .dlq topics")
    args = parser.parse_args(argv)

    if args.command == "wait":
        if wait_for_broker(args.bootstrap, args.timeout):
            print(f"kafka at {args.bootstrap} is ready")
            return 0
        print(f"kafka at {args.bootstrap} did not answer within {args.timeout:.0f}s", file=sys.stderr)
        return 1
    created = ensure_topics(args.bootstrap)
    print("created topics: " + (", ".join(created) if created else "none (all present)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
