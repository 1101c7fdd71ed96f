"""Memberships moved lately to another person (member.reassigned), as the projection of member
events records them (``members.holder_since``): a member token issued before the move is refused."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import Engine, Table, select

from .clock import now, utc
from .errors import Problem


class MovedMemberships:
    """Memberships that moved to another person lately, so that a token the previous holder got
    before the move stops reaching the member id here at once, as enrolment refuses it itself (a
    token names its member id for its whole life, 15 minutes).

    Moves are rare, and only those younger than any token matter: each process keeps them in memory
    and reads them again at most every ``refresh_seconds``, rather than a read on every request."""

    HORIZON = timedelta(days=1)  # far longer than any token lives

    def __init__(self, engine: Engine, table: Table, *, refresh_seconds: float = 2.0):
        self._engine = engine
        self._table = table
        self.refresh_seconds = refresh_seconds
        self._moved: dict[str, datetime] = {}
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def check(self, member_id: str, issued_at: int) -> None:
        """Refuse (401) a token issued before its member id's membership moved to another person."""
        moved_at = self._since(member_id)
        # iat is whole seconds: a token of the move's own second is refused, the previous holder's
        # as well as (in theory) one the new holder got that second; they log in after being told.
        if moved_at is not None and issued_at <= moved_at.timestamp():
            raise Problem(401, "token_invalid", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    def _since(self, member_id: str) -> datetime | None:
        if time.monotonic() - self._read_at >= self.refresh_seconds:
            # The first read is waited for; later ones are one thread's while the rest use the last.
            if self._lock.acquire(blocking=self._read_at == float("-inf")):
                try:
                    self._read()
                finally:
                    self._lock.release()
        return self._moved.get(member_id)

    def _read(self) -> None:
        c = self._table.c
        recent = select(c.member_id, c.holder_since).where(c.holder_since > now() - self.HORIZON)
        with self._engine.connect() as conn:
            self._moved = {row.member_id: utc(row.holder_since) for row in conn.execute(recent)}
        self._read_at = time.monotonic()
