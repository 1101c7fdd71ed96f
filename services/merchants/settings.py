"""Merchants' settings: the common ones plus the till's limits and the volunteers' thank-you voucher."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.config import Settings


@dataclass(frozen=True)
class MerchantsSettings(Settings):
    # Where enrolment publishes the public keys that check member card codes (services/common/card_codes.py).
    card_keys_cache_seconds: int = 300
    # A bill above this is a typing slip at the till (an extra zero or two), not a purchase: ¥100,000.
    max_bill_fen: int = 10_000_000
    redeem_limit_per_minute: int = 600  # per till login: a till scans a few cards a minute at most
    # A twin request with the same Idempotency-Key waits this long for the first one's answer.
    idempotency_wait_seconds: float = 5.0
    # The thank-you voucher for a completed station shift.
    shift_voucher_fen: int = 1000
    shift_voucher_days: int = 30
    nearby_radius_m: int = 5000
    nearby_limit: int = 50


SETTINGS = MerchantsSettings
