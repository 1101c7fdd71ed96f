"""End-to-end tests against the RUNNING system, through the gateway (deploy/local/up.sh starts it).

When the gateway does not answer these tests are skipped, unless UNIONHUB_REQUIRE_INFRA is set
(CI sets it to 1), in which case they fail.
"""

from __future__ import annotations

import os
import random
import uuid
from datetime import date, timedelta

import pytest
import requests

from schemas.resident_id import compute_check_char

GATEWAY = os.environ.get("UNIONHUB_GATEWAY_URL", "http://127.0.0.1:8000").rstrip("/")
KAFKA = os.environ.get("UNIONHUB_KAFKA_BOOTSTRAP", os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
ADMIN_PASSWORD = os.environ.get("UNIONHUB_ADMIN_PASSWORD", "unionhub-admin")
REQUIRE_INFRA = os.environ.get("UNIONHUB_REQUIRE_INFRA", "") not in ("", "0")


def _missing(reason: str):
    if REQUIRE_INFRA:
        pytest.fail(f"UNIONHUB_REQUIRE_INFRA is set and {reason}", pytrace=False)
    pytest.skip(f"{reason}; start the system with `bash deploy/local/up.sh`")


@pytest.fixture(scope="session")
def gateway() -> str:
    try:
        response = requests.get(f"{GATEWAY}/svc/enrolment/healthz", timeout=3)
    except requests.RequestException as error:
        _missing(f"the gateway at {GATEWAY} does not answer ({error.__class__.__name__})")
    if response.status_code != 200:
        _missing(f"enrolment behind the gateway at {GATEWAY} is not healthy (HTTP {response.status_code})")
    return GATEWAY


@pytest.fixture(scope="session")
def admin(gateway) -> requests.Session:
    """A session logged in as the bootstrap federation admin (one login for the whole run)."""
    session = requests.Session()
    response = session.post(
        f"{gateway}/api/v1/auth/staff/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        timeout=10,
    )
    assert response.status_code == 200, f"admin login failed: {response.status_code} {response.text}"
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    yield session
    session.close()


@pytest.fixture
def members_topic():
    """A consumer of every partition of Kafka's `members` topic, positioned at the current end."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    try:
        consumer = KafkaConsumer(bootstrap_servers=KAFKA, group_id=None, enable_auto_commit=False)
        partitions = consumer.partitions_for_topic("members")
    except KafkaError as error:
        _missing(f"Kafka at {KAFKA} does not answer ({error})")
    if not partitions:
        consumer.close()
        pytest.fail("the members topic does not exist; the running system creates it (`unionhub topics`)")
    assigned = [TopicPartition("members", p) for p in sorted(partitions)]
    consumer.assign(assigned)
    for tp, offset in consumer.end_offsets(assigned).items():
        consumer.seek(tp, offset)
    yield consumer
    consumer.close()


@pytest.fixture
def new_resident_id():
    return unique_resident_id


@pytest.fixture
def new_code():
    return unique_code


def unique_resident_id() -> str:
    """A valid resident ID no earlier run of the running system has used (random region and date)."""
    region = f"{random.randint(1, 8)}{random.randint(0, 99999):05d}"
    born = date(1960, 1, 1) + timedelta(days=random.randint(0, 40 * 365))
    first17 = f"{region}{born:%Y%m%d}{random.randint(0, 999):03d}"
    return first17 + compute_check_char(first17)


def unique_code(prefix: str = "e2e") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"
