"""backfill shifts duty_day

Revision 4a8410f7646e added shifts.duty_day but left it empty on the shifts already there, so a
check-in did not find the day's shift begun before it (repository.day_shift_of) and started another,
and an open one did not hold up its station's close duty (repository.overdue_duties). This gives
them the day in Shanghai on which they started.

The local date, not shifts.duty_day's rule (yesterday's, while an opening of yesterday runs past
midnight), which reads the rota: the two differ only for a shift begun after midnight before such
an opening closed. Such a shift, if still open, will not mark that opening's close duty done at
check-out (check_out reads its duty_day); rare enough, on one upgrade, not to copy the rule here.

uq_shifts_member_station_day allows one shift per volunteer, station and day, and before duty_day
a volunteer who checked out and in again that day got a second shift. Of those, the latest gets
the day, the others keep none: a volunteer has one open shift at most and it is their latest, so an
open shift is always the one dated, and a check-in that day resumes where they stopped last. A
shift that a check-in after 4a8410f7646e already dated that day keeps it, and the older ones none.

Revision ID: 93e2ac8c854c
Revises: 4a8410f7646e
Create Date: 2026-12-01 10:08:49.535469
"""

from alembic import op

revision = "93e2ac8c854c"
down_revision = "4a8410f7646e"
branch_labels = None
depends_on = None


def _local_day(started_at: str) -> str:
    """SQL for the date in Shanghai of a started_at column, as clock.local_day gives it."""
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST({started_at} AT TIME ZONE 'Asia/Shanghai' AS DATE)"
    # SQLite keeps UTC as text without an offset; Shanghai has been UTC+8 all year since 1992.
    return f"date({started_at}, '+8 hours')"


def upgrade() -> None:
    day = _local_day("shifts.started_at")
    # Read before the update (PostgreSQL) or row by row as it goes (SQLite), the conditions pick the
    # same rows: once the latest of a day is dated, the second excludes the others.
    op.execute(
        f"""
        UPDATE shifts SET duty_day = {day}
        WHERE duty_day IS NULL
        AND NOT EXISTS (
            SELECT 1 FROM shifts later
            WHERE later.member_id = shifts.member_id AND later.station_id = shifts.station_id
            AND later.duty_day IS NULL AND {_local_day("later.started_at")} = {day}
            AND (later.started_at > shifts.started_at
                 OR (later.started_at = shifts.started_at AND later.id > shifts.id))
        )
        AND NOT EXISTS (
            SELECT 1 FROM shifts dated
            WHERE dated.member_id = shifts.member_id AND dated.station_id = shifts.station_id
            AND dated.duty_day = {day}
        )
        """
    )


def downgrade() -> None:
    # Nothing to undo: 4a8410f7646e's code reads a filled duty_day as its own.
    pass
