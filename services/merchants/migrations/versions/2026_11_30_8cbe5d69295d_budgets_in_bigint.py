"""budgets in bigint

A budget is fen (or a count), and a union's campaign may fund more than ¥21,474,836.47, the most an
INTEGER holds: the API accepts up to ¥1,000,000,000 (10^11 fen), and PostgreSQL refused more than
INTEGER's range with an error the API answered 500 for. The quick start's SQLite stores any integer
in 64 bits already. Downgrading fails while a budget is beyond INTEGER's range.

Revision ID: 8cbe5d69295d
Revises: bd25fbeff4bb
Create Date: 2026-11-30 14:05:56.521414
"""

import sqlalchemy as sa
from alembic import op

revision = "8cbe5d69295d"
down_revision = "bd25fbeff4bb"
branch_labels = None
depends_on = None


BUDGETS = {"merchants": ("budget_total", "budget_remaining"), "offers": ("budget_total", "budget_remaining")}


def upgrade() -> None:
    _alter(sa.INTEGER(), sa.BigInteger())


def downgrade() -> None:
    _alter(sa.BigInteger(), sa.INTEGER())


def _alter(existing_type, type_) -> None:
    for table, columns in BUDGETS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(
                    column, existing_type=existing_type, type_=type_, existing_nullable=True
                )
