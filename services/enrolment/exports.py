"""Exports of members' data: audited before a row leaves, then read in batches of bounded size.

A CSV of a whole province can hold hundreds of thousands of members. Loading it whole held every
row and the whole file in one worker's memory at once; here one batch is in memory at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Row, Select

from services.common import audit
from services.common.db import UnitOfWork
from services.common.sql import READ_ONLY

from . import queries, tables

BATCH = 1000
EXPORT_MEMBERS = "export_members"


@dataclass(frozen=True)
class MemberExport:
    count: int
    branches: dict[str, str]  # branch id → name, for every branch the export covers
    query: Select


def export_members(
    uow: UnitOfWork, admin_units, *, actor: str, branch_id: str | None = None, status: str | None = None
) -> MemberExport:
    """Check the scope and record the export in the audit log; the rows are read by ``batches``.

    The audit row is committed before any row is read: an export the client abandons halfway, or
    one that fails, is still on record.
    """
    with uow:
        conn = uow.connection
        query, branches = queries.members_export(conn, admin_units, branch_id=branch_id, status=status)
        count = queries.count(conn, query)
        fields = audit.filter_fields(count, branch_id=branch_id, status=status)
        audit.record(uow, tables.audit_log, actor=actor, action=EXPORT_MEMBERS, fields=fields)
        uow.commit()
    return MemberExport(count, branches, query)


def batches(uow: UnitOfWork, export: MemberExport, *, size: int = BATCH) -> Iterator[Sequence[Row]]:
    """The export's rows, ``size`` at a time, from a server-side cursor on a connection of its own."""
    engine = uow.db.engine
    options: dict = {"yield_per": size}
    if engine.dialect.name == "sqlite":
        # A snapshot without the write lock, so joins go on while a long export is read. Not on
        # PostgreSQL: READ_ONLY runs there without a transaction, and a server-side cursor needs one.
        options[READ_ONLY] = True
    with engine.connect().execution_options(**options) as conn, conn.begin():
        yield from conn.execute(export.query).partitions()
