"""Idempotency-Key for POSTs that create or move something (join, book, redeem, reverse).

The stored answer lives in the service's database and is written in the same transaction as the
state change, so a retried request gets the first answer back and never applies twice, even if
the first attempt's connection dropped after the commit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, UniqueConstraint, select

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


def request_hash(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def validate_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= 120 or not key.isprintable():
        raise Invalid("invalid", field="Idempotency-Key")
    return key


def replay(conn, table: Table, scope: str, key: str, payload) -> tuple[int, dict] | None:
    """The stored answer for this key, if the same request was already accepted."""
    row = conn.execute(select(table).where(table.c.scope == scope, table.c.key == key)).first()
    if row is None:
        return None
    if row.request_hash != request_hash(payload):
        raise Conflict("idempotency_key_reused")
    return row.status, json.loads(row.body)


def remember(conn, table: Table, scope: str, key: str, payload, status: int, body: dict) -> None:
    """Store the answer inside the caller's transaction; a concurrent twin fails on the unique key."""
    conn.execute(
        table.insert().values(
            scope=scope,
            key=key,
            request_hash=request_hash(payload),
            status=status,
            body=json.dumps(body, default=str, ensure_ascii=False),
            created_at=datetime.now(UTC),
        )
    )
