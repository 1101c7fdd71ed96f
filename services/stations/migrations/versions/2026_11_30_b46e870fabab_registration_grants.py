"""Registration grants: an admin lets a coordinator register stations under a branch, and the
branch paths learned with a grant, which a coordinator's registration reads.

Revision ID: b46e870fabab
Revises: e2f42d469c01
Create Date: 2026-11-30 03:49:34.873058
"""

import sqlalchemy as sa
from alembic import op

revision = "b46e870fabab"
down_revision = "e2f42d469c01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "branches",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("path", sa.JSON(), nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "registration_grants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("staff_id", sa.String(length=64), nullable=False),
        sa.Column("branch_id", sa.String(length=64), nullable=False),
        sa.Column("branch_path", sa.JSON(), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("registration_grants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registration_grants_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(
            "uq_registration_grants_live",
            ["staff_id", "branch_id"],
            unique=True,
            postgresql_where=sa.text("revoked_at IS NULL"),
            sqlite_where=sa.text("revoked_at IS NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("registration_grants", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_registration_grants_live",
            postgresql_where=sa.text("revoked_at IS NULL"),
            sqlite_where=sa.text("revoked_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_registration_grants_staff_id"))

    op.drop_table("registration_grants")
    op.drop_table("branches")
