"""Count the waitlist numbers that no longer wait, so a booking reads its place in line from the
course row it updates instead of counting under that row's lock.

Revision ID: 2bea14b4918e
Revises: 0d9959378173
Create Date: 2026-11-30 01:44:45.650125
"""

import sqlalchemy as sa
from alembic import op

revision = "2bea14b4918e"
down_revision = "0d9959378173"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("waitlist_left", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
    # Numbers handed out before this revision that were promoted or cancelled since.
    op.execute(
        "UPDATE courses SET waitlist_left = (SELECT count(*) FROM bookings"
        " WHERE bookings.course_id = courses.id"
        " AND bookings.position IS NOT NULL AND bookings.status <> 'waitlisted')"
    )


def downgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_column("waitlist_left")
