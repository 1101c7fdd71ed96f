"""One shift per volunteer, station and day, in stints: checking in again that day resumes the
shift, so a day on duty is one shift (and one thank-you voucher) however often the volunteer steps
out, and its stints keep the station's open hours exact. Shifts from before are one stint each.

Revision ID: 4a8410f7646e
Revises: b46e870fabab
Create Date: 2026-12-01 05:16:23.823111
"""

import sqlalchemy as sa
from alembic import op

revision = "4a8410f7646e"
down_revision = "b46e870fabab"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shift_stints",
        sa.Column("shift_id", sa.String(length=36), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["shift_id"], ["shifts.id"]),
        sa.PrimaryKeyConstraint("shift_id", "started_at"),
    )
    op.execute(
        "INSERT INTO shift_stints (shift_id, started_at, ended_at)"
        " SELECT id, started_at, ended_at FROM shifts"
    )
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duty_day", sa.Date(), nullable=True))
        batch_op.create_index(
            "uq_shifts_member_station_day", ["member_id", "station_id", "duty_day"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("shifts", schema=None) as batch_op:
        batch_op.drop_index("uq_shifts_member_station_day")
        batch_op.drop_column("duty_day")
    op.drop_table("shift_stints")
