"""Enrolment's tables. Personal data is stored encrypted, with keyed hashes for duplicate checks."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

from events.store import add_bus_tables
from services.common.audit import add_audit_table
from services.common.idempotency import add_idempotency_table

metadata = MetaData()

units = Table(
    "units",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("parent_id", String(36), ForeignKey("units.id"), nullable=True),
    Column("path", String(800), nullable=False, index=True),
    Column("requires_approval", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("unit_id", String(36), ForeignKey("units.id"), nullable=False, index=True),
    Column("name", String(120), nullable=False),
    Column("site", String(120), nullable=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

_current = "status IN ('pending', 'active', 'suspended')"

members = Table(
    "members",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("unit_id", String(36), ForeignKey("units.id"), nullable=False, index=True),
    Column("campaign_id", String(36), ForeignKey("campaigns.id"), nullable=True, index=True),
    Column("card_no", String(20), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    Column("name", String(60), nullable=True),
    Column("mobile_enc", Text, nullable=True),
    Column("mobile_masked", String(20), nullable=True),
    Column("id_number_enc", Text, nullable=True),
    Column("id_number_masked", String(24), nullable=True),
    Column(
        "id_hash", String(64), nullable=True
    ),  # keyed hash of the resident ID, for "one person joins once"
    Column("openid", String(64), nullable=True),
    Column("birth_date", Date, nullable=True),
    Column("sex", String(10), nullable=True),
    Column("employer", String(60), nullable=False),
    Column("occupation", String(60), nullable=False),
    Column("consent_version", String(20), nullable=False),
    Column("consented_at", DateTime(timezone=True), nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=True),
    # A person may hold one current membership; after leaving they may join again.
    Index(
        "uq_members_current_person",
        "id_hash",
        unique=True,
        postgresql_where=text(_current),
        sqlite_where=text(_current),
    ),
    Index(
        "uq_members_current_openid",
        "openid",
        unique=True,
        postgresql_where=text(_current),
        sqlite_where=text(_current),
    ),
    # Erasure finds every membership a WeChat user holds or held (unerased_members_of), past ones
    # too, which the partial index above leaves out.
    Index("ix_members_openid", "openid"),
)

card_serials = Table(
    "card_serials",
    metadata,
    Column("province", String(2), primary_key=True),
    Column("last_serial", Integer, nullable=False),
)

staff = Table(
    "staff",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("unit_id", String(36), ForeignKey("units.id"), nullable=True),
    Column("merchant_id", String(36), nullable=True),
    Column("store_ids", JSON, nullable=False),
    Column("station_ids", JSON, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_by", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Every admin read of unmasked personal data, every erasure and every export leaves a row here (PIPL).
audit_log = add_audit_table(metadata, subject="member_id")

# A verified person joined with an ID number a current membership of another WeChat user holds.
# The claimant's details are kept only while the dispute is open; resolving wipes them.
disputes = Table(
    "disputes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("member_id", String(36), ForeignKey("members.id"), nullable=False, index=True),
    Column("campaign_id", String(36), ForeignKey("campaigns.id"), nullable=True),
    Column("status", String(10), nullable=False),  # open, kept, moved or withdrawn
    Column("claimant_openid", String(64), nullable=True),
    Column("claimant_name", String(60), nullable=True),
    Column("claimant_mobile_enc", Text, nullable=True),  # bound to the dispute id
    Column("claimant_mobile_masked", String(20), nullable=True),
    Column("claimant_employer", String(60), nullable=True),
    Column("claimant_occupation", String(60), nullable=True),
    # What the claimant agreed to when they tried to join: theirs once the membership moves to them.
    # Empty on disputes opened before it was kept.
    Column("claimant_consent_version", String(20), nullable=True),
    Column("claimant_consented_at", DateTime(timezone=True), nullable=True),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("resolved_by", String(64), nullable=True),
    # A claimant who tries again adds nothing: one open dispute per membership and claimant.
    Index(
        "uq_disputes_open_claim",
        "member_id",
        "claimant_openid",
        unique=True,
        postgresql_where=text("status = 'open'"),
        sqlite_where=text("status = 'open'"),
    ),
)

# Joins per campaign and day (Asia/Shanghai), counted in the join's own transaction.
campaign_days = Table(
    "campaign_days",
    metadata,
    Column("campaign_id", String(36), ForeignKey("campaigns.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("joins", Integer, nullable=False, default=0),
)

idempotency_keys = add_idempotency_table(metadata)
outbox, inbox = add_bus_tables(metadata)
