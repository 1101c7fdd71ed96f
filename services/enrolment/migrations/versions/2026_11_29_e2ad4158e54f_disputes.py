"""disputes

Identity disputes: a verified person joined with an ID number that a current membership of another
WeChat user holds; admins of that membership's subtree keep it or move it to the claimant.

Revision ID: e2ad4158e54f
Revises: d275bcdf41b2
Create Date: 2026-11-29 22:55:01.127929
"""

import sqlalchemy as sa
from alembic import op

revision = "e2ad4158e54f"
down_revision = "d275bcdf41b2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("campaign_id", sa.String(length=36), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("claimant_openid", sa.String(length=64), nullable=True),
        sa.Column("claimant_name", sa.String(length=60), nullable=True),
        sa.Column("claimant_mobile_enc", sa.Text(), nullable=True),
        sa.Column("claimant_mobile_masked", sa.String(length=20), nullable=True),
        sa.Column("claimant_employer", sa.String(length=60), nullable=True),
        sa.Column("claimant_occupation", sa.String(length=60), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disputes_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "uq_disputes_open_claim",
            ["member_id", "claimant_openid"],
            unique=True,
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_disputes_open_claim",
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index(batch_op.f("ix_disputes_member_id"))

    op.drop_table("disputes")
