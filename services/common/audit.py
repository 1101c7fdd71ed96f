"""The audit trail of members' personal data (PIPL): every unmasked read, every erasure and every
export leaves a row, written in the transaction that does it and committed before any data leaves.

Each service that lets staff read or export members' data keeps the trail in its own database, in a
table of this one shape; ``subject`` names, in that service's words, what a row is about (enrolment:
the member; courses: the course whose roster was taken)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table

from .clock import now
from .db import UnitOfWork


def add_audit_table(metadata: MetaData, subject: str) -> Table:
    return Table(
        "audit_log",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", DateTime(timezone=True), nullable=False, index=True),
        Column("actor", String(64), nullable=False),
        Column("action", String(40), nullable=False),
        Column(subject, String(36), nullable=True, index=True),
        Column("fields", JSON, nullable=False),
        # The service's own id for the request (observability.py): the client does not choose it.
        Column("request_id", String(64), nullable=True),
        info={"audit_subject": subject},
    )


def record(
    uow: UnitOfWork, table: Table, *, actor: str, action: str, fields: list[str], subject: str | None = None
) -> None:
    """A row in ``uow``'s transaction, about ``subject`` (the table's subject column) if given."""
    uow.connection.execute(
        table.insert().values(
            at=now(),
            actor=actor,
            action=action,
            fields=fields,
            request_id=uow.request_id,
            **{table.info["audit_subject"]: subject},
        )
    )


def filter_fields(count: int, **filters) -> list[str]:
    """An export's ``fields``: how many rows it took and the filter it took them by, as name=value,
    so a reader of the trail sees what was taken without a column per filter."""
    return [f"count={count}", *(f"{name}={value}" for name, value in filters.items() if value)]
