"""Idempotency-Key for POSTs that create or move something (join, book, redeem, reverse).

The stored answer lives in the service's database and is written in the same transaction as the
state change, so a retried request gets the first answer back and never applies twice, even if
the first attempt's connection dropped after the commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)

from .domain import Conflict, Invalid


def add_idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("scope", String(120), nullable=False),  # who sent it and to which operation
        Column("key", String(120), nullable=False),
        Column("request_hash", String(64), nullable=False),
        Column("status", Integer, nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        UniqueConstraint("scope", "key"),
    )


HEADER = "Idempotency-Key"
# For a view's ``@blp.doc(parameters=[HEADER_DOC])``: the OpenAPI document names the header.
HEADER_DOC = {"in": "header", "name": HEADER, "schema": {"type": "string"}}


def request_hash(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def validate_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= 120 or not key.isprintable():
        raise Invalid("invalid", field=HEADER)
    return key


@dataclass(frozen=True)
class IdempotentRequest:
    """One POST that may be retried: who sent it to which operation (``scope``), its key and body.

    A use case asks ``answered`` first (in the transaction that starts the work or before it),
    calls ``remember`` in the transaction that applies the change, and after losing a race to
    a concurrent twin asks ``answered`` again in a fresh transaction. Without a key every call
    is new and the methods do nothing.
    """

    table: Table
    scope: str
    key: str | None
    payload: Any

    @classmethod
    def of(cls, table: Table, scope: str, header: str | None, payload: Any) -> IdempotentRequest:
        return cls(table, scope, validate_key(header), payload)

    def answered(self, conn: Connection) -> tuple[int, dict] | None:
        """The stored answer, if the same request was already accepted."""
        if self.key is None:
            return None
        t = self.table
        row = conn.execute(select(t).where(t.c.scope == self.scope, t.c.key == self.key)).first()
        if row is None:
            return None
        if row.request_hash != request_hash(self.payload):
            raise Conflict("idempotency_key_reused")
        return row.status, json.loads(row.body)

    def remember(self, conn: Connection, status: int, body: dict) -> None:
        """Store the answer in the caller's transaction; a concurrent twin fails on the unique key."""
        if self.key is None:
            return
        conn.execute(
            self.table.insert().values(
                scope=self.scope,
                key=self.key,
                request_hash=request_hash(self.payload),
                status=status,
                body=json.dumps(body, default=str, ensure_ascii=False),
                created_at=datetime.now(UTC),
            )
        )
