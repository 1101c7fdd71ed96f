"""Shared test setup: the integration tier's infrastructure check and its ledger rig.

Tests marked ``integration`` need the Kafka broker and PostgreSQL that ``deploy/local/infra.sh up``
starts. When they do not answer, those tests are skipped, unless UNIONHUB_REQUIRE_INFRA is set (CI
sets it to 1), in which case they fail: a CI run must not go green by skipping the tier.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

KAFKA_BOOTSTRAP = os.environ.get(
    "UNIONHUB_KAFKA_BOOTSTRAP", os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
)
PG_ADMIN_URL = os.environ.get(
    "UNIONHUB_TEST_DATABASE_URL", "postgresql+psycopg://unionhub:unionhub@127.0.0.1:55432/unionhub"
)
INTEGRATION_DIR = Path(__file__).parent / "integration"

_probe: list[str | None] = []  # the one probe result of this session


def _infrastructure_problem() -> str | None:
    from kafka.errors import KafkaError
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    from events.admin import wait_for_broker

    host, _, port = KAFKA_BOOTSTRAP.partition(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as error:
        return f"Kafka at {KAFKA_BOOTSTRAP} does not answer ({error})"
    try:
        if not wait_for_broker(KAFKA_BOOTSTRAP, timeout=15):
            return f"Kafka at {KAFKA_BOOTSTRAP} accepts connections but does not answer admin requests"
    except KafkaError as error:
        return f"Kafka at {KAFKA_BOOTSTRAP} does not answer admin requests ({error})"
    engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except SQLAlchemyError as error:
        return f"PostgreSQL at {engine.url.render_as_string()} does not answer ({error.__class__.__name__})"
    finally:
        engine.dispose()
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("integration") is None:
        return
    if not _probe:
        _probe.append(_infrastructure_problem())
    problem = _probe[0]
    if problem is None:
        return
    if os.environ.get("UNIONHUB_REQUIRE_INFRA", "") not in ("", "0"):
        pytest.fail(
            f"UNIONHUB_REQUIRE_INFRA is set and the infrastructure is missing: {problem}", pytrace=False
        )
    pytest.skip(
        f"{problem}; start it with `bash deploy/local/infra.sh up` (UNIONHUB_REQUIRE_INFRA=1 fails instead)"
    )


@pytest.fixture
def ledger_rig(tmp_path):
    """A fresh topic (+ .dlq) and two fresh PostgreSQL databases for the ledger test service."""
    if str(INTEGRATION_DIR) not in sys.path:
        sys.path.insert(0, str(INTEGRATION_DIR))
    import ledger_service

    with ledger_service.rig(KAFKA_BOOTSTRAP, PG_ADMIN_URL, tmp_path) as rig:
        yield rig
