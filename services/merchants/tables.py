"""Merchants' tables. Money is integer fen; times are UTC.

Budgets live on their rows as ``budget_remaining`` and are only ever spent by a conditional UPDATE
(``... WHERE budget_remaining >= :cost``), so concurrent redemptions cannot overspend them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    text,
)

from events.store import add_bus_tables
from services.common.idempotency import add_idempotency_table
from services.common.members import add_members_table

metadata = MetaData()

merchants = Table(
    "merchants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("category", String(40), nullable=False),
    Column("branch_id", String(64), nullable=False),
    Column("branch_path", JSON, nullable=False),  # the branch's ancestry, for admins' scope
    Column("union_share_percent", Integer, nullable=False),  # of each discount the union subsidises
    Column("budget_kind", String(8), nullable=True),  # money | count | none
    Column("budget_total", BigInteger, nullable=True),
    Column("budget_remaining", BigInteger, nullable=True),
    Column("exhausted_at", DateTime(timezone=True), nullable=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

stores = Table(
    "stores",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("merchant_id", String(36), ForeignKey("merchants.id"), nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("address", String(200), nullable=True),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("open", Boolean, nullable=False),  # closed for now (refit, holiday) whatever the hours
    Column("opens_at", String(5), nullable=True),  # "HH:MM" Asia/Shanghai; none: all day
    Column("closes_at", String(5), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_stores_lat_lng", "lat", "lng"),
)

# Which till logins (enrolment's staff ids) serve which stores: the only thing that lets a till act.
till_staff = Table(
    "till_staff",
    metadata,
    Column("staff_id", String(64), primary_key=True),
    Column("store_id", String(36), ForeignKey("stores.id"), primary_key=True),
    Column("merchant_id", String(36), ForeignKey("merchants.id"), nullable=False, index=True),
    Column("username", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

offers = Table(
    "offers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("merchant_id", String(36), ForeignKey("merchants.id"), nullable=False, index=True),
    Column("title", String(120), nullable=False),
    Column("kind", String(10), nullable=False),  # percent | threshold | fixed
    Column("percent_off", Integer, nullable=True),
    Column("cap_fen", Integer, nullable=True),
    Column("steps", JSON, nullable=True),  # [[threshold_fen, off_fen], ...] ascending
    Column("fixed_fen", Integer, nullable=True),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("weekdays", JSON, nullable=True),  # ISO weekdays 1..7; none: every day
    Column("hours_from", String(5), nullable=True),
    Column("hours_to", String(5), nullable=True),
    Column("benefit_weeks", JSON, nullable=True),  # [[first_day, last_day], ...] ISO dates
    Column("member_limit", Integer, nullable=True),
    Column("limit_period", String(10), nullable=True),  # day | week | campaign
    Column("budget_kind", String(8), nullable=True),
    Column("budget_total", BigInteger, nullable=True),
    Column("budget_remaining", BigInteger, nullable=True),
    Column("exhausted_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Redemptions per member, offer and period ("campaign", "day:2026-03-02", "week:2026-W10"),
# counted with a conditional upsert so the limit holds under concurrent tills.
offer_usage = Table(
    "offer_usage",
    metadata,
    Column("offer_id", String(36), ForeignKey("offers.id"), primary_key=True),
    Column("member_id", String(64), primary_key=True),
    Column("period", String(20), primary_key=True),
    Column("uses", Integer, nullable=False),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("merchant_id", String(36), ForeignKey("merchants.id"), nullable=False),
    Column("store_id", String(36), ForeignKey("stores.id"), nullable=False),
    # None when no offer applied and a voucher alone took something off the bill.
    Column("offer_id", String(36), ForeignKey("offers.id"), nullable=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("staff_id", String(64), nullable=False),
    Column("amount_fen", Integer, nullable=False),
    Column("discount_fen", Integer, nullable=False),  # the offer's part plus the voucher's
    Column("payable_fen", Integer, nullable=False),
    Column(
        "subsidy_fen", Integer, nullable=False
    ),  # the union's share of the offer's part, plus the voucher's
    Column("voucher_id", String(36), ForeignKey("vouchers.id"), nullable=True),
    Column("voucher_fen", Integer, nullable=False, server_default=text("0")),  # of discount_fen
    Column("usage_period", String(20), nullable=True),
    Column("reversed_fen", Integer, nullable=False),  # of amount_fen, refunded so far
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_redemptions_merchant_created", "merchant_id", "created_at"),
)

reversals = Table(
    "reversals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("redemption_id", String(36), ForeignKey("redemptions.id"), nullable=False, index=True),
    Column("merchant_id", String(36), ForeignKey("merchants.id"), nullable=False),
    Column("member_id", String(64), nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("amount_fen", Integer, nullable=False),
    Column("discount_fen", Integer, nullable=False),
    Column("subsidy_fen", Integer, nullable=False),
    Column("voucher_fen", Integer, nullable=False, server_default=text("0")),  # of discount_fen
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_reversals_merchant_created", "merchant_id", "created_at"),
)

vouchers = Table(
    "vouchers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("value_fen", Integer, nullable=False),
    Column("reason", String(40), nullable=False),
    # One thank-you voucher per completed shift, whatever event id a replay carries.
    Column("shift_id", String(64), nullable=True, unique=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("granted_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Set by the redemption that spends it (a conditional UPDATE: once, across every till); a full
    # refund of that redemption clears it again while the voucher has not expired.
    Column("used_at", DateTime(timezone=True), nullable=True),
)

members = add_members_table(metadata)
idempotency_keys = add_idempotency_table(metadata)
outbox, inbox = add_bus_tables(metadata)
