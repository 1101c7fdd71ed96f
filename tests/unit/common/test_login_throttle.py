"""Failed logins slow the source that makes them, never the account's owner (issue 8, item 6)."""

import pytest

from services.common.domain import RateLimited
from services.common.login_throttle import LoginThrottle, Policy

POLICY = Policy(
    free_failures=3, base_delay=1, max_delay=8, source_failures=20, account_failures=10, account_delay=2
)


@pytest.fixture
def throttle(clean_redis):
    return LoginThrottle(clean_redis, lambda kind, who: f"test:throttle:{kind}:{who}", POLICY)


def _wait(throttle, username, source) -> int:
    """Seconds this source must wait for this account (0: it may try now)."""
    try:
        throttle.check(username, source)
    except RateLimited as limited:
        return limited.retry_after
    return 0


def test_a_stranger_failing_100_times_from_other_addresses_does_not_stop_the_owner(throttle):
    for i in range(100):
        source = f"198.51.100.{i}"
        if _wait(throttle, "zhang", source) == 0:
            throttle.failed("zhang", source)

    assert _wait(throttle, "zhang", "203.0.113.7") == 0


def test_a_stranger_failing_100_times_from_one_address_waits_and_the_owner_does_not(throttle):
    attempts = 0
    for _ in range(100):
        if _wait(throttle, "zhang", "198.51.100.1") == 0:
            throttle.failed("zhang", "198.51.100.1")
            attempts += 1

    assert attempts == POLICY.free_failures  # then it waits, and the waiting counts for nothing
    assert _wait(throttle, "zhang", "198.51.100.1") >= 1
    assert _wait(throttle, "zhang", "203.0.113.7") == 0


def test_the_wait_doubles_with_each_failure_up_to_the_cap(throttle, clean_redis):
    waits = []
    for _ in range(POLICY.free_failures + 6):
        throttle.failed("zhang", "198.51.100.1")
        waits.append(_wait(throttle, "zhang", "198.51.100.1"))

    assert waits == [0, 0, 1, 2, 4, 8, 8, 8, 8]


def test_only_failures_count(throttle):
    for _ in range(50):
        throttle.check("zhang", "203.0.113.7")
        throttle.succeeded("zhang", "203.0.113.7")

    assert _wait(throttle, "zhang", "203.0.113.7") == 0


def test_a_success_clears_the_sources_failures_on_that_account(throttle):
    for _ in range(POLICY.free_failures - 1):
        throttle.failed("zhang", "203.0.113.7")
    throttle.succeeded("zhang", "203.0.113.7")
    throttle.failed("zhang", "203.0.113.7")

    assert _wait(throttle, "zhang", "203.0.113.7") == 0


def test_one_source_trying_many_accounts_is_stopped(throttle):
    for i in range(POLICY.source_failures):
        throttle.failed(f"user-{i}", "198.51.100.1")

    assert _wait(throttle, "someone-else", "198.51.100.1") >= 1
    assert _wait(throttle, "someone-else", "203.0.113.7") == 0


def test_an_account_under_attack_paces_failing_sources_briefly_and_lets_clean_ones_through(throttle):
    for i in range(POLICY.account_failures):
        throttle.failed("zhang", f"198.51.100.{i}")

    assert 1 <= _wait(throttle, "zhang", "198.51.100.0") <= POLICY.account_delay
    assert _wait(throttle, "zhang", "203.0.113.7") == 0


def test_the_deployment_limit_sets_the_policy():
    policy = Policy.per_minute(10)

    assert (policy.free_failures, policy.source_failures, policy.account_failures) == (10, 30, 10)
