"""disputes claimant consent

A membership moved by a dispute kept the previous holder's consent (its version and time): the
claimant's own, given in the join that opened the dispute, was not kept. Disputes opened before
this stay without it; a move of one records the dispute's opening as the time.

Revision ID: 563b67cec17a
Revises: db1209325705
Create Date: 2026-12-01 11:35:21.048779
"""

import sqlalchemy as sa
from alembic import op

revision = "563b67cec17a"
down_revision = "db1209325705"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimant_consent_version", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("claimant_consented_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("disputes", schema=None) as batch_op:
        batch_op.drop_column("claimant_consented_at")
        batch_op.drop_column("claimant_consent_version")
