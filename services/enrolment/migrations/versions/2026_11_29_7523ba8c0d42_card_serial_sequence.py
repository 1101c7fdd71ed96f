"""card serial sequence

On PostgreSQL card serials come from a SEQUENCE, ``card_serial_seq``, instead of the province's
``card_serials`` row. Every join updated that one row and held its lock until COMMIT, so joins queued
on it one at a time (docs/benchmarks.md, "Request path"); ``nextval`` takes no lock that lasts
beyond the call. A serial taken by a join that then rolls back is not handed out again: card numbers
may have gaps, never duplicates.

One sequence serves every province: a deployment issues the cards of one province
(enrolment's ``card_province`` setting), and one sequence needs no DDL when that setting names a province not
seen before. It starts after the largest serial the table has handed out to any province, so no
card number already issued comes back. SQLite (the quick start) keeps the table: its write
transactions are serialised anyway, so a sequence would win nothing there, and it has none.

The sequence is OWNED BY ``card_serials.last_serial``: dropping the table drops it too.

Upgrade with the old release stopped: its processes still take serials from the table, which the
sequence no longer follows.

Revision ID: 7523ba8c0d42
Revises: e2ad4158e54f
Create Date: 2026-11-29 23:42:15.311173
"""

from alembic import op

revision = "7523ba8c0d42"
down_revision = "e2ad4158e54f"
branch_labels = None
depends_on = None

SEQUENCE = "card_serial_seq"  # repository/counters.py names it too


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgresql():
        return
    # Ten digits of serial in a card number (card_number.SERIAL_DIGITS).
    op.execute(f"CREATE SEQUENCE {SEQUENCE} MINVALUE 1 MAXVALUE 9999999999 OWNED BY card_serials.last_serial")
    op.execute(
        f"SELECT setval('{SEQUENCE}', last) FROM (SELECT max(last_serial) AS last FROM card_serials) t"
        " WHERE last IS NOT NULL"
    )


def downgrade() -> None:
    if not _postgresql():
        return
    # The table counts each province on its own again, from the largest serial each has issued.
    op.execute(
        """
        INSERT INTO card_serials (province, last_serial)
        SELECT substr(card_no, 3, 2), max(substr(card_no, 5, 10)::bigint)
        FROM members WHERE card_no ~ '^GH[0-9]{13}$' GROUP BY 1
        ON CONFLICT (province) DO UPDATE
        SET last_serial = greatest(card_serials.last_serial, excluded.last_serial)
        """
    )
    op.execute(f"DROP SEQUENCE {SEQUENCE}")
