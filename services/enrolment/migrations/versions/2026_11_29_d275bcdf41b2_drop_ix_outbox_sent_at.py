"""drop ix_outbox_sent_at

Releases before the partial index ix_outbox_unsent indexed every row's outbox.sent_at. That index
grew with every sent row and only slowed the relay's writes; databases those releases made (and
adopted at the baseline) may still have it, and one that never ran a release with ix_outbox_unsent
lacks that. A database the baseline made has ix_outbox_unsent and never had the old index, so here
both steps change nothing.

Revision ID: d275bcdf41b2
Revises: cd75058e5076
Create Date: 2026-11-29 22:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "d275bcdf41b2"
down_revision = "cd75058e5076"
branch_labels = None
depends_on = None

_UNSENT = sa.text("sent_at IS NULL")


def upgrade() -> None:
    # PostgreSQL and SQLite both say DROP INDEX IF EXISTS / CREATE INDEX IF NOT EXISTS.
    op.drop_index("ix_outbox_sent_at", table_name="outbox", if_exists=True)
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["seq"],
        unique=False,
        postgresql_where=_UNSENT,
        sqlite_where=_UNSENT,
        if_not_exists=True,
    )


def downgrade() -> None:
    op.create_index("ix_outbox_sent_at", "outbox", ["sent_at"], unique=False, if_not_exists=True)
