"""A sale's budgets spent on PostgreSQL in its last statements, sent with COMMIT.

Every redemption of an offer spends from the offer's one row (and the merchant's), so the tills queue
for its lock. Sent with COMMIT, the lock is held for that one round trip, not also while the result
goes back to a worker thread that waits for a CPU and the GIL to send COMMIT: what bounded a
course's bookings on their course row (docs/benchmarks.md, "Course booking burst"). So what the till
decided between the UPDATE and COMMIT is decided in SQL, in the same statement:

* a budget that does not cover the cost fails the statement (a cast that fails, as a booking's
  taken Idempotency-Key does), which rolls back the sale with it; ``budget_short`` tells which budget;
* a spend that leaves exactly nothing marks the budget exhausted, and when it is the first to
  (``mark_exhausted``'s rule), writes the ``benefit.budget_exhausted`` event prepared for the case.

On SQLite the till spends them one UPDATE at a time (``spend_offer_budget``) and decides in Python.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, exc, text

_SHORT = "{table} budget short"
# After the UPDATE, ``exhausted_at = :at`` means this statement set it (mark_exhausted's "first to
# record it"): an earlier mark keeps its own time, the one another sale read from the clock.
_SPEND = """WITH spent AS (
    UPDATE {table} SET budget_remaining = budget_remaining - :cost,
        exhausted_at = CASE WHEN budget_remaining = :cost THEN coalesce(exhausted_at, :at)
                            ELSE exhausted_at END
    WHERE id = :id AND budget_remaining >= :cost
    RETURNING budget_remaining, exhausted_at
), told AS (
    INSERT INTO outbox (event_id, topic, key, type, headers, payload, created_at)
    SELECT :event_id, :topic, :key, :type, :headers, :payload, :event_at
    FROM spent
    WHERE budget_remaining = 0 AND exhausted_at = :at
)
SELECT CAST(CASE WHEN EXISTS (SELECT FROM spent) THEN '0' ELSE '{short}' END AS integer) AS short"""
_STATEMENTS = {
    table: text(_SPEND.format(table=table, short=_SHORT.format(table=table)))
    for table in ("offers", "merchants")
}


def spending_budget(table: Table, row_id: str, cost: int, at: datetime, exhaustion: dict) -> tuple:
    """The statement and parameters that spend ``cost`` from the budget of ``table``'s row ``row_id``
    (an offer's or a merchant's); ``exhaustion``: the outbox row of the event it writes if it is
    the spend that exhausts the budget."""
    values = {name: exhaustion[name] for name in ("event_id", "topic", "key", "type", "headers", "payload")}
    values.update(id=row_id, cost=cost, at=at, event_at=exhaustion["created_at"])
    return _STATEMENTS[table.name], values


def budget_short(error: exc.DataError, table: Table) -> bool:
    """Whether ``error`` is ``spending_budget``'s refusal for lack of ``table``'s budget."""
    return _SHORT.format(table=table.name) in str(error.orig)
