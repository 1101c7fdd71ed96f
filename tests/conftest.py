"""Shared test setup: the integration tier's infrastructure check, the fixtures every tier may use
(tests/support.py defines them), and the ledger rig.

Tests marked ``integration`` need the Kafka broker and PostgreSQL that ``deploy/local/infra.sh up``
starts. When they do not answer, those tests are skipped, unless UNIONHUB_REQUIRE_INFRA is set (CI
sets it to 1), in which case they fail: a CI run must not go green by skipping the tier.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from tests import support

INTEGRATION_DIR = Path(__file__).parent / "integration"

# Bound here so every tier sees them; each is lazy, so a test that does not ask pays nothing.
redis_client = support.redis_client
clean_redis = support.clean_redis
wechat_url = support.wechat_fake(scope="session")

_probe: list[str | None] = []  # the one probe result of this session


def _infrastructure_problem() -> str | None:
    from kafka.errors import KafkaError
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    from events.admin import wait_for_broker

    bootstrap = support.KAFKA_BOOTSTRAP
    host, _, port = bootstrap.partition(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
    except OSError as error:
        return f"Kafka at {bootstrap} does not answer ({error})"
    try:
        if not wait_for_broker(bootstrap, timeout=15):
            return f"Kafka at {bootstrap} accepts connections but does not answer admin requests"
    except KafkaError as error:
        return f"Kafka at {bootstrap} does not answer admin requests ({error})"
    engine = create_engine(support.PG_ADMIN_URL, connect_args={"connect_timeout": 3})
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
    if _probe[0] is not None:
        support.infra_missing(_probe[0])


@pytest.fixture
def ledger_rig(tmp_path):
    """A fresh topic (+ .dlq) and two fresh PostgreSQL databases for the ledger test service."""
    if str(INTEGRATION_DIR) not in sys.path:
        sys.path.insert(0, str(INTEGRATION_DIR))
    import ledger_service

    with ledger_service.rig(support.KAFKA_BOOTSTRAP, support.PG_ADMIN_URL, tmp_path) as rig:
        yield rig
