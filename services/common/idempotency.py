"""Idempotency-Key for POSTs that create or move something (join, book, redeem, reverse).

The stored answer lives in the service's database and is written in the same transaction as the
state change, so a retried request gets the first answer back and never applies twice, even if
the first attempt's connection dropped after the commit.

A record is personal data for as long as it lives: its answer names the member, and its fingerprint
is a function of the body (name, mobile, ID number). So the fingerprint is keyed (HMAC-SHA256 under a
secret of the service: whoever reads the table cannot confirm a guess of the body), a record expires
after ``TTL`` (a replay after that is a new request), ``prune`` deletes expired ones
(``unionhub prune <service>``), and ``forget`` deletes a person's records when they are erased.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    bindparam,
    delete,
    exc,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from . import sql
from .clock import utc
from .db import UnitOfWork
from .domain import Conflict, Invalid

# Clients retry within seconds or minutes; a day covers a phone that was offline overnight.
TTL = timedelta(hours=24)


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


def request_hash(payload, secret: bytes) -> str:
    body = json.dumps(payload, sort_keys=True, default=str).encode()
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def derive_secret(material: bytes) -> bytes:
    """A fingerprint key of its own from a service's existing secret material (a subkey: HMAC as a
    PRF), for services that are not given ``idempotency_key_secret`` separately."""
    return hmac.new(material, b"unionhub/idempotency-fingerprint/v1", hashlib.sha256).digest()


def prune(conn: Connection, table: Table, older_than: datetime) -> int:
    """Delete the records made before ``older_than``; how many."""
    return conn.execute(delete(table).where(table.c.created_at < older_than)).rowcount


def forget(conn: Connection, table: Table, *scopes: str) -> int:
    """Delete every record of these scopes (a person's, on erasure); how many."""
    return conn.execute(delete(table).where(table.c.scope.in_(scopes))).rowcount


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
    secret: bytes  # the fingerprint's HMAC key: the service's idempotency secret
    ttl: timedelta = TTL

    @classmethod
    def of(
        cls,
        table: Table,
        scope: str,
        header: str | None,
        payload: Any,
        *,
        secret: bytes,
        ttl: timedelta = TTL,
    ) -> IdempotentRequest:
        return cls(table, scope, validate_key(header), payload, secret, ttl)

    def _live_since(self) -> datetime:
        return datetime.now(UTC) - self.ttl

    def once(self, uow: UnitOfWork, use_case: Callable[[], dict]) -> dict:
        """``use_case()``'s answer, or, where it lost the race for this key to a concurrent twin
        (``KeyTaken`` or the key's unique index), the answer the twin stored."""
        try:
            return use_case()
        except exc.IntegrityError:
            with uow.read_only():
                if stored := self.answered(uow.connection):
                    return stored[1]
            raise

    def answered(self, conn: Connection) -> tuple[int, dict] | None:
        """The stored answer, if the same request was already accepted and has not expired."""
        if self.key is None:
            return None
        lookup = _statements(self.table, conn.dialect.name).lookup
        found = sql.fetch(conn, lookup, {"scope": self.scope, "key": self.key})
        if not found:
            return None
        row = found[0]
        return self.answer_of(row.request_hash, row.status, row.body, row.created_at)

    def answer_of(self, stored_hash: str | None, status: int | None, body: str | None, created_at):
        """``answered`` for the record of this scope and key that the caller read itself (None's where
        there is none): a use case on a hot path folds the look-up into a read of its own."""
        if self.key is None or stored_hash is None or utc(created_at) < self._live_since():
            return None
        if not hmac.compare_digest(stored_hash, request_hash(self.payload, self.secret)):
            raise Conflict("idempotency_key_reused")
        return status, json.loads(body)

    def remember(self, conn: Connection, status: int, body: dict) -> None:
        """Store the answer in the caller's transaction; a concurrent twin raises KeyTaken.

        One statement: an expired record of the same key (not pruned yet) is replaced in place,
        a live one is left alone. It is the last write of a use case that holds a hot row's lock
        (a course's seats), so a round trip saved here is saved for every booking in the queue."""
        remembering = self.remembering(conn, status, body)
        if remembering is not None and not sql.fetch(conn, *remembering):
            raise KeyTaken()

    def remembering(self, conn: Connection, status: int, body: dict) -> tuple | None:
        """``remember``'s statement and parameters, for a use case that sends it with its other
        writes (``sql.fetch_in_turn``); None without a key. A row comes back when the answer was
        stored (new, or over an expired one); none when a live twin holds the key: KeyTaken. (Not
        rowcount: with RETURNING, which SQLAlchemy adds to an INSERT on PostgreSQL, psycopg
        reports it as -1.)"""
        if self.key is None:
            return None
        return _statements(self.table, conn.dialect.name).remember, self.record(status, body)

    def record(self, status: int, body: dict) -> dict:
        """The record ``remember`` stores for this answer, with ``live_since`` (an existing record
        older than that has expired and is replaced), as parameters: for a use case that writes it
        within a statement of its own (courses' booking, docs/benchmarks.md "Course booking burst")."""
        return {
            "scope": self.scope,
            "key": self.key,
            "request_hash": request_hash(self.payload, self.secret),
            "status": status,
            "body": json.dumps(body, default=str, ensure_ascii=False),
            "created_at": datetime.now(UTC),
            "live_since": self._live_since(),
        }


@dataclass(frozen=True)
class _Statements:
    lookup: object
    remember: object


# Built once per table and dialect, with bind parameters: built per call, SQLAlchemy worked out each
# statement's cache key on every request, and a till redemption's two look-ups and its storing of the
# answer came to a fifth of its CPU (docs/benchmarks.md, "Benefit-week redemptions").
@functools.cache
def _statements(table: Table, dialect: str) -> _Statements:
    t = table
    # Its values named, not left to the parameters' keys: inside another statement (sql.write_in_turn
    # with COMMIT) SQLAlchemy would not take its columns from them.
    columns = ("scope", "key", "request_hash", "status", "body", "created_at")
    insert = (
        (postgresql if dialect == "postgresql" else sqlite)
        .insert(t)
        .values({c: bindparam(c) for c in columns})
    )
    remember = insert.on_conflict_do_update(
        index_elements=[t.c.scope, t.c.key],
        set_={c: insert.excluded[c] for c in ("request_hash", "status", "body", "created_at")},
        where=t.c.created_at < bindparam("live_since"),
    ).returning(t.c.id)
    lookup = select(t.c.request_hash, t.c.status, t.c.body, t.c.created_at).where(
        t.c.scope == bindparam("scope"), t.c.key == bindparam("key")
    )
    return _Statements(lookup, remember)


class KeyTaken(exc.IntegrityError):
    """A twin with the same key committed first: as the unique index would have said, so callers
    handle both the same way (they ask ``answered`` again)."""

    def __init__(self) -> None:
        super().__init__("INSERT INTO idempotency_keys", None, Exception("Idempotency-Key taken by a twin"))
