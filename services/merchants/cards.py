"""The member card at the till: the one place merchants touches card codes (services/common/card_codes.py).

Checking is split from spending on purpose. ``check`` (signature, expiry) runs before anything else
the till asks, costs no I/O beyond the cached public keys, and spends nothing; ``spend`` marks the
code used in the Redis every till shares, and runs only once every other check has passed, so a
redemption refused for bad input leaves the member's code usable for the corrected one.

``spend`` also counts the till's attempt against its rate limit, in the same round trip: a pipeline
of the fixed window's INCR and EXPIRE NX (as services/common/ratelimit.py counts) and the nonce's SET
NX GET. Under a benefit-week burst the rate limit's round trip of its own cost a worker about 185 µs
of CPU a redemption, four times what its commands cost alone: each wait for Redis hands the GIL over
and back (docs/benchmarks.md). A pipeline, not a script: the two keys fall in different slots of a
Redis Cluster (docs/capacity.md plans one for card codes), where a script must stay in one. So a
sale past the limit has spent the code when it learns so, and gives it back.

The used nonce's value says which request spent it: ``spend`` writes a hash of the request's
Idempotency scope and key, where enrolment's redemption writes ``1``. A second request finding the
nonce spent tells at once whether it is a concurrent twin of the one that spent it (the same key:
wait for that one's answer) or another use of the code (409 ``card_token.used``), in the one SET
that spends it: no mark of its own, no round trip more.
"""

from __future__ import annotations

import logging

import redis

from services.common import card_codes, card_keys, ratelimit
from services.common.card_codes import CardClaims
from services.common.domain import Conflict, Invalid, Unavailable

from . import keys

log = logging.getLogger(__name__)

# Spent, and by no request a twin could be waiting on: what enrolment's card redemption writes too.
SPENT = "1"


class Cards:
    def __init__(self, keys: card_codes.PublicKeys, redis_client: redis.Redis):
        self.keys = keys
        self.redis = redis_client

    @staticmethod
    def claimed_member_id(token: str) -> str | None:
        """The member id the code names, unchecked: the till reads that member in the same round
        trip as the store and the offers, and ``check`` decides whether the code vouches for them."""
        return card_codes.claimed_member_id(token)

    def check(self, token: str, *, now: int) -> CardClaims:
        try:
            return card_codes.verify(token, self.keys, now=now)
        except card_codes.CardTokenError as error:
            raise Invalid(error.code, field="card_token") from None
        except card_keys.CardKeysUnavailable:
            raise Unavailable("card_keys.unavailable") from None

    def spend(self, claims: CardClaims, *, now: int, holder: str, attempts: ratelimit.Limit) -> bool:
        """Count the till's attempt and spend the code for the request ``holder`` names: True when
        this call spent it, False when a request with the same ``holder`` (a twin) did; 409
        ``card_token.used`` when anything else did; 429 past the till's limit, the code not spent."""
        ttl = max(1, claims.expires_at - int(now) + card_codes.USED_MARGIN_SECONDS)
        used = card_codes.used_key(claims.nonce)
        pipe = self.redis.pipeline(transaction=False)
        ratelimit.counting(pipe, attempts)
        # SET NX GET (Redis 7): atomic, so of two tills scanning the same screen at once one spends
        # it, and the other learns by whom.
        pipe.set(used, holder, nx=True, get=True, ex=ttl)
        count, _, before = pipe.execute()
        if count > attempts.limit and before is None:
            self.redis.delete(used)  # this call spent it past the limit: nobody else can have since
        ratelimit.refuse_past(self.redis, attempts, count)
        if before is None:
            return True
        if before.decode() == holder:
            return False
        raise Conflict("card_token.used")

    def holder(self, claims: CardClaims) -> str | None:
        """Who spent the code, as ``spend`` wrote it (None: not spent)."""
        value = self.redis.get(card_codes.used_key(claims.nonce))
        return None if value is None else value.decode()

    def disown(self, claims: CardClaims) -> None:
        """The request that spent the code was refused or failed afterwards: the code stays spent,
        but as nobody's, so a retry with the same key is told ``card_token.used`` at once instead of
        waiting for an answer that will never come. Best effort: the refusal itself goes out anyway."""
        try:
            self.redis.set(card_codes.used_key(claims.nonce), SPENT, xx=True, keepttl=True)
        except redis.RedisError as error:
            log.warning("card code spent by a failed request left as its own (%s)", error)


def from_settings(settings, redis_client) -> Cards:
    return Cards(
        card_keys.CardKeys(
            settings.enrolment_url.rstrip("/") + card_codes.KEYS_PATH,
            redis_client,
            keys.card_keys(),
            cache_seconds=settings.card_keys_cache_seconds,
        ),
        redis_client,
    )
