"""End-to-end tests against the RUNNING system, through the gateway (deploy/local/up.sh starts it).

When the gateway does not answer these tests are skipped, unless UNIONHUB_REQUIRE_INFRA is set
(CI sets it to 1), in which case they fail.
"""

from __future__ import annotations

import pytest
import requests

from tests.support import GATEWAY_URL, START_SYSTEM, Api, infra_missing, topic_tail


@pytest.fixture(scope="session")
def gateway() -> str:
    try:
        response = requests.get(f"{GATEWAY_URL}/svc/enrolment/healthz", timeout=3)
    except requests.RequestException as error:
        infra_missing(
            f"the gateway at {GATEWAY_URL} does not answer ({error.__class__.__name__})", hint=START_SYSTEM
        )
    if response.status_code != 200:
        infra_missing(
            f"enrolment behind the gateway at {GATEWAY_URL} is not healthy (HTTP {response.status_code})",
            hint=START_SYSTEM,
        )
    return GATEWAY_URL


@pytest.fixture(scope="session")
def admin(gateway) -> requests.Session:
    """A session logged in as the bootstrap federation admin (one login for the whole run)."""
    session = requests.Session()
    token = Api.over_gateway(session, gateway).login()
    session.headers["Authorization"] = f"Bearer {token}"
    yield session
    session.close()


@pytest.fixture
def members_topic(gateway):
    """A consumer of every partition of Kafka's `members` topic, positioned at the current end."""
    with topic_tail("members", hint=START_SYSTEM) as consumer:
        yield consumer
