"""Throttling password guesses so that strangers can slow an account down but never shut its owner out.

A limit per account alone is a lock-out switch: anyone who knows a username can fail it ten times a
minute and the owner, typing the right password, is refused too. Here only failed attempts count,
and they count against three things:

* the pair (account, source): after ``free_failures`` failures that source waits for that account,
  twice as long after each further failure, up to ``max_delay``. This is what stops a guesser, and
  it touches no other source: the owner at their own address is not slowed by it.
* the source alone: past ``source_failures`` failures in a window, across every account, a source
  is refused until the window ends. This stops one address trying many accounts.
* the account alone: past ``account_failures`` failures in a window, from anywhere, the sources that
  have themselves failed on it wait ``account_delay`` seconds between attempts. Many addresses
  guessing together are paced, while a source with no recent failure on the account (the owner's)
  passes at once.

A success clears the pair. Redis holds every counter, shared by all instances of the service.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import redis

from .domain import RateLimited
from .ratelimit import failing_open

# kind ("pair", "source", "account", or one of them with ":wait"), who → the service's Redis key.
KeyFunction = Callable[[str, str], str]


@dataclass(frozen=True)
class Policy:
    free_failures: int = 5  # per account and source before the first wait
    base_delay: float = 1.0  # seconds, the first wait; doubled after each further failure
    max_delay: float = 60.0  # seconds, the longest one source waits for one account
    source_failures: int = 30  # per window, across all accounts
    account_failures: int = 10  # per window, from every source together, before failing sources are paced
    account_delay: float = 2.0  # seconds between attempts of a failing source at a paced account
    window: int = 900  # seconds a failure is remembered

    @classmethod
    def per_minute(cls, limit: int) -> Policy:
        """The policy for a deployment's ``login_limit_per_minute``."""
        return cls(free_failures=limit, source_failures=limit * 3, account_failures=limit, window=60)


class LoginThrottle:
    def __init__(self, client: redis.Redis, key: KeyFunction, policy: Policy):
        self.client = client
        self.key = key
        self.policy = policy

    def _keys(self, username: str, source: str) -> tuple[str, str, str]:
        return (
            self.key("pair", f"{source}|{username}"),
            self.key("source", source),
            self.key("account", username),
        )

    def check(self, username: str, source: str) -> None:
        """Raise RateLimited, with the seconds to wait, if this source must wait for this account."""
        pair, by_source, account = self._keys(username, source)
        answers = None
        with failing_open("login"):
            pipe = self.client.pipeline(transaction=False)
            pipe.pttl(f"{pair}:wait")
            pipe.get(pair)
            pipe.get(by_source)
            pipe.pttl(by_source)
            pipe.pttl(f"{account}:wait")
            answers = pipe.execute()
        if answers is None:
            return
        pair_wait, pair_failures, source_failures, source_ttl, account_wait = answers
        waits = [pair_wait]
        if int(source_failures or 0) >= self.policy.source_failures:
            waits.append(source_ttl)
        if pair_failures:  # pacing an account spares the sources that have not failed on it
            waits.append(account_wait)
        wait_ms = max(waits)
        if wait_ms > 0:
            raise RateLimited(retry_after=max(1, math.ceil(wait_ms / 1000)))

    def failed(self, username: str, source: str) -> None:
        with failing_open("login"):
            self._count_failure(username, source)

    def _count_failure(self, username: str, source: str) -> None:
        p = self.policy
        pair, by_source, account = self._keys(username, source)
        pipe = self.client.pipeline(transaction=False)
        pipe.incr(pair)
        pipe.expire(pair, p.window)  # sliding: recent failures of this source on this account
        pipe.incr(by_source)
        pipe.expire(by_source, p.window, nx=True)
        pipe.incr(account)
        pipe.expire(account, p.window)
        pair_failures, _, _, _, account_failures, _ = pipe.execute()
        pipe = self.client.pipeline(transaction=False)
        if pair_failures >= p.free_failures:
            delay = min(p.base_delay * 2 ** (pair_failures - p.free_failures), p.max_delay)
            pipe.set(f"{pair}:wait", 1, px=int(delay * 1000))
        if account_failures >= p.account_failures:
            pipe.set(f"{account}:wait", 1, px=int(p.account_delay * 1000))
        pipe.execute()

    def succeeded(self, username: str, source: str) -> None:
        pair, _, _ = self._keys(username, source)
        with failing_open("login"):
            self.client.delete(pair, f"{pair}:wait")
