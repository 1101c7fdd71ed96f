"""members holder_since

When a membership last moved to another person (member.reassigned), so that a token its previous
holder got before the move stops naming it here at once (services/common/moved_memberships.py,
MovedMemberships). Empty on the rows there: only a move in the quarter hour before the upgrade
goes unnoticed by the tokens of that quarter hour.

Revision ID: 408d216469be
Revises: a080e624362c
Create Date: 2026-12-01 10:31:17.370845
"""

import sqlalchemy as sa
from alembic import op

revision = "408d216469be"
down_revision = "a080e624362c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_members_holder_since"), ["holder_since"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_members_holder_since"))
        batch_op.drop_column("holder_since")
