"""The member card at the till: the one place merchants touches card codes (services/common/card_codes.py).

Checking is split from spending on purpose. ``check`` (signature, expiry) runs before anything else
the till asks, costs no I/O beyond the cached public keys, and spends nothing; ``spend`` marks the
code used in the Redis every till shares, and runs only once every other check has passed, so a
redemption refused for bad input leaves the member's code usable for the corrected one.
"""

from __future__ import annotations

from services.common import card_codes
from services.common.card_codes import CardClaims
from services.common.domain import Conflict, Invalid, Unavailable

from . import keys


class Cards:
    def __init__(self, keys: card_codes.PublicKeys, used: card_codes.UsedTokens):
        self.keys = keys
        self.used = used

    def check(self, token: str, *, now: int) -> CardClaims:
        try:
            return card_codes.verify(token, self.keys, now=now)
        except card_codes.CardTokenError as error:
            raise Invalid(error.code, field="card_token") from None
        except card_codes.CardKeysUnavailable:
            raise Unavailable("card_keys.unavailable") from None

    def spend(self, claims: CardClaims, *, now: int) -> None:
        ttl = claims.expires_at - int(now) + card_codes.USED_MARGIN_SECONDS
        if not self.used.mark_used(claims.nonce, ttl):
            raise Conflict("card_token.used")


def from_settings(settings, redis_client) -> Cards:
    return Cards(
        card_codes.CardKeys(
            settings.enrolment_url.rstrip("/") + card_codes.KEYS_PATH,
            redis_client,
            keys.card_keys(),
            cache_seconds=settings.card_keys_cache_seconds,
        ),
        card_codes.RedisUsedTokens(redis_client),
    )
