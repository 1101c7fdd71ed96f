"""vouchers spent at the till

A voucher is spent once by a redemption (``vouchers.used_at``) and a full refund gives it back; a
redemption records the voucher and the part of its discount the voucher paid, and may have no offer
when the voucher alone took something off; a reversal records the voucher's share of what it gives
back. Rows from before this revision had no voucher: their voucher parts are 0.

Revision ID: bd25fbeff4bb
Revises: 13154507ae62
Create Date: 2026-11-30 03:48:59.238038
"""

import sqlalchemy as sa
from alembic import op

revision = "bd25fbeff4bb"
down_revision = "13154507ae62"
branch_labels = None
depends_on = None

# PostgreSQL's own name for the constraint; named here so that the downgrade can drop it.
VOUCHER_FK = "redemptions_voucher_id_fkey"


def upgrade() -> None:
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voucher_id", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("voucher_fen", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.alter_column("offer_id", existing_type=sa.VARCHAR(length=36), nullable=True)
        batch_op.create_foreign_key(VOUCHER_FK, "vouchers", ["voucher_id"], ["id"])

    with op.batch_alter_table("reversals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("voucher_fen", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )

    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("used_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vouchers", schema=None) as batch_op:
        batch_op.drop_column("used_at")

    with op.batch_alter_table("reversals", schema=None) as batch_op:
        batch_op.drop_column("voucher_fen")

    # Refused (NOT NULL) while a redemption paid by a voucher alone exists: dropping it would
    # change issued statements.
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_constraint(VOUCHER_FK, type_="foreignkey")
        batch_op.alter_column("offer_id", existing_type=sa.VARCHAR(length=36), nullable=False)
        batch_op.drop_column("voucher_fen")
        batch_op.drop_column("voucher_id")
