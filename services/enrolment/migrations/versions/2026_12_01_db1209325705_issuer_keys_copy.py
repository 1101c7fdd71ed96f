"""issuer keys copy

Every service's database holds the table (services/common/db.py Database declares it); the others
keep there the last JWKS enrolment published, for a process that starts while enrolment does not
answer (services/common/jwks.py IssuerKeysCopy). Enrolment checks its own tokens with the keys it
signs with, and leaves it empty.

Revision ID: db1209325705
Revises: fab4fc32b54a
Create Date: 2026-12-01 10:16:36.076652
"""

import sqlalchemy as sa
from alembic import op

revision = "db1209325705"
down_revision = "fab4fc32b54a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issuer_keys",
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("jwks", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url"),
    )


def downgrade() -> None:
    op.drop_table("issuer_keys")
