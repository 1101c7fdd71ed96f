"""issuer keys copy

The last JWKS enrolment published, kept by services/common/jwks.py IssuerKeysCopy: a process that
starts while enrolment does not answer checks tokens with it instead of answering every signed-in
request 503.

Revision ID: 9ba01e8aabfd
Revises: 8cbe5d69295d
Create Date: 2026-12-01 10:16:38.327444
"""

import sqlalchemy as sa
from alembic import op

revision = "9ba01e8aabfd"
down_revision = "8cbe5d69295d"
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
