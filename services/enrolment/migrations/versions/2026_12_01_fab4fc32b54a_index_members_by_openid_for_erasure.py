"""index members by openid for erasure

Erasure finds every membership a WeChat user holds or held (repository.unerased_members_of); the
only index on openid, uq_members_current_openid, covers current memberships alone, so that lookup
read the whole table. A plain index covers them all.

On PostgreSQL a plain CREATE INDEX blocks writes to members while it builds. It is not built
CONCURRENTLY: an upgrade runs in one transaction holding the schema lock
(services/common/migrations.py), where CONCURRENTLY cannot run.

Revision ID: fab4fc32b54a
Revises: 7523ba8c0d42
Create Date: 2026-12-01 10:07:51.188491
"""

from alembic import op

revision = "fab4fc32b54a"
down_revision = "7523ba8c0d42"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index("ix_members_openid", ["openid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index("ix_members_openid")
