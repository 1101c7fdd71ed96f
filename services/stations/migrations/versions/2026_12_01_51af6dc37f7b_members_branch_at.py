"""members branch_at

The member projection kept one time for status and branch, so a transfer made an older suspension
look stale (and a status event an older transfer): replayed from the dead letters, either was
dropped. Each fact now has its own time; a branch already there is taken as set when the row was
last written, which is what the one time said of it.

Revision ID: 51af6dc37f7b
Revises: 7ac70b3a6674
Create Date: 2026-12-01 10:28:31.762238
"""

import sqlalchemy as sa
from alembic import op

revision = "51af6dc37f7b"
down_revision = "7ac70b3a6674"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("branch_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE members SET branch_at = updated_at WHERE branch_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("branch_at")
