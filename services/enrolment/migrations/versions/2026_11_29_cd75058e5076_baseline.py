"""baseline: enrolment's schema as create_all made it before there were migrations

A database that create_all made is stamped at this revision instead of running it (see
services/common/migrations.py), so this must stay exactly what create_all made from tables.py,
events/store.py and services/common/idempotency.py at the time.

Revision ID: cd75058e5076
Create Date: 2026-11-29 22:31:44.930518
"""

import sqlalchemy as sa
from alembic import op

revision = "cd75058e5076"
down_revision = None
branch_labels = None
depends_on = None

_CURRENT = sa.text("status IN ('pending', 'active', 'suspended')")
_UNSENT = sa.text("sent_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.String(length=36), nullable=True),
        sa.Column("path", sa.String(length=800), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_units_path", "units", ["path"], unique=False)

    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("site", sa.String(length=120), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_campaigns_unit_id", "campaigns", ["unit_id"], unique=False)

    op.create_table(
        "members",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("unit_id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=True),
        sa.Column("card_no", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=True),
        sa.Column("mobile_enc", sa.Text(), nullable=True),
        sa.Column("mobile_masked", sa.String(length=20), nullable=True),
        sa.Column("id_number_enc", sa.Text(), nullable=True),
        sa.Column("id_number_masked", sa.String(length=24), nullable=True),
        sa.Column("id_hash", sa.String(length=64), nullable=True),
        sa.Column("openid", sa.String(length=64), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=10), nullable=True),
        sa.Column("employer", sa.String(length=60), nullable=False),
        sa.Column("occupation", sa.String(length=60), nullable=False),
        sa.Column("consent_version", sa.String(length=20), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("card_no"),
    )
    op.create_index("ix_members_unit_id", "members", ["unit_id"], unique=False)
    op.create_index("ix_members_campaign_id", "members", ["campaign_id"], unique=False)
    # One current membership per person and per WeChat account; after leaving one may join again.
    op.create_index(
        "uq_members_current_person",
        "members",
        ["id_hash"],
        unique=True,
        postgresql_where=_CURRENT,
        sqlite_where=_CURRENT,
    )
    op.create_index(
        "uq_members_current_openid",
        "members",
        ["openid"],
        unique=True,
        postgresql_where=_CURRENT,
        sqlite_where=_CURRENT,
    )

    op.create_table(
        "card_serials",
        sa.Column("province", sa.String(length=2), nullable=False),
        sa.Column("last_serial", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("province"),
    )

    op.create_table(
        "staff",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("unit_id", sa.String(length=36), nullable=True),
        sa.Column("merchant_id", sa.String(length=36), nullable=True),
        sa.Column("store_ids", sa.JSON(), nullable=False),
        sa.Column("station_ids", sa.JSON(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"], unique=False)
    op.create_index("ix_audit_log_member_id", "audit_log", ["member_id"], unique=False)

    op.create_table(
        "campaign_days",
        sa.Column("campaign_id", sa.String(length=36), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("joins", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"]),
        sa.PrimaryKeyConstraint("campaign_id", "day"),
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "key"),
    )

    op.create_table(
        "outbox",
        # SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a bigserial.
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("topic", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("type", sa.String(length=120), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index(
        "ix_outbox_unsent", "outbox", ["seq"], unique=False, postgresql_where=_UNSENT, sqlite_where=_UNSENT
    )

    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=120), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=120), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes; children before the tables they refer to.
    for table in (
        "inbox",
        "outbox",
        "idempotency_keys",
        "campaign_days",
        "audit_log",
        "staff",
        "card_serials",
        "members",
        "campaigns",
        "units",
    ):
        op.drop_table(table)
