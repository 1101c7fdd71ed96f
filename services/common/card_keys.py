"""Enrolment's public card keys as a till holds them: fetched with ``requests``, cached, and kept in
Redis for a process that starts, or meets a new key, while enrolment is down."""

from __future__ import annotations

import json
import logging
import threading
import time

import redis
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .card_codes import jwks_keys, public_jwk

log = logging.getLogger(__name__)


class CardKeysUnavailable(RuntimeError):
    """No card keys could be had, from enrolment or from the copy in Redis: nothing can be checked."""


class CardKeys:
    """Enrolment's public card keys (``settings.enrolment_url + KEYS_PATH``), fetched with requests
    and cached in memory; a key id not in the cache triggers a refetch at most every
    ``min_refetch_seconds`` (key rotation), as services/common/jwks.py's JwksKeys does for tokens.

    Every good set is also kept in Redis under ``redis_key``: when enrolment does not answer, a
    process that has just started, or one that meets a key its cache lacks, checks codes with the
    keys last published instead of refusing every card.
    """

    def __init__(
        self,
        url: str,
        redis_client,
        redis_key: str,
        *,
        cache_seconds: int = 300,
        min_refetch_seconds: float = 10.0,
        timeout: float = 5.0,
        session=None,
    ):
        self.url = url
        self.redis_key = redis_key
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self.timeout = timeout
        self._redis = redis_client
        self._session = session or requests.Session()
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._fetched_at = float("-inf")
        self._tried_at = float("-inf")
        self._lock = threading.Lock()

    def get(self, kid: str) -> Ed25519PublicKey | None:
        with self._lock:
            now = time.monotonic()
            wanted = kid not in self._keys or now - self._fetched_at > self.cache_seconds
            # Tried at most once an interval, so a flood of codes naming made-up keys, or enrolment
            # being down, costs enrolment and the till one request per interval, not one per scan.
            if wanted and now - self._tried_at >= self.min_refetch_seconds:
                self._tried_at = now
                self._refresh()
            if not self._keys:
                raise CardKeysUnavailable(f"no card keys from {self.url} or Redis key {self.redis_key}")
            return self._keys.get(kid)

    def _refresh(self) -> None:
        try:
            response = self._session.get(self.url, timeout=self.timeout)
            response.raise_for_status()
            keys = jwks_keys(response.json())
        except (requests.RequestException, ValueError) as error:
            log.warning("card keys: %s did not answer usably (%s); using the last good set", self.url, error)
            self._keys = self._remembered() or self._keys
            return
        self._keys, self._fetched_at = keys, time.monotonic()
        try:
            self._redis.set(self.redis_key, json.dumps({"keys": [public_jwk(k) for k in keys.values()]}))
        except redis.RedisError as error:
            log.warning("card keys: could not keep a copy in Redis (%s)", error)

    def _remembered(self) -> dict[str, Ed25519PublicKey]:
        try:
            stored = self._redis.get(self.redis_key)
            return jwks_keys(json.loads(stored)) if stored else {}
        except (redis.RedisError, ValueError) as error:
            log.warning("card keys: no usable copy in Redis (%s)", error)
            return {}
