"""Applying one event exactly once: the logic shared by the Kafka consumer and the in-memory bus.

A handler runs inside a unit of work together with the insert of the event id into the inbox, so
the state change and the record of having made it commit or roll back together. A redelivered event
finds its id in the inbox and is counted as a duplicate, changing nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Protocol

from marshmallow import ValidationError
from sqlalchemy import Connection, Table, exc

from .catalogue import Catalogue
from .envelope import Event
from .store import claim

log = logging.getLogger(__name__)


class UnitOfWork(Protocol):
    connection: Connection
    traceparent: str | None  # events a handler records continue the trace of the one it handles

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc_info) -> None: ...
    def commit(self) -> None: ...


Handler = Callable[[Event, UnitOfWork], None]


class ManyHandler:
    """A handler that takes a run of consecutive events of its type in one call.

    For projections on a hot topic: one multi-row statement for a whole poll batch instead of a
    round trip to the database per event. Called with a single event when events are applied one
    at a time (after a failure in the batch), so it must accept a list of any length.
    """

    def __init__(self, handle_many: Callable[[list[Event], UnitOfWork], None]):
        self.handle_many = handle_many

    def __call__(self, event: Event, uow: UnitOfWork) -> None:
        self.handle_many([event], uow)


class Outcome(Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    DEAD = "dead"


@dataclass(frozen=True)
class Failure:
    kind: str  # "schema" (never retried) or "handler" (retried, then dead-lettered)
    error: str
    attempts: int


class InfrastructureDown(RuntimeError):
    """The consumer's own database is unreachable: stop and retry later, never dead-letter."""


# SQLSTATE of a write sent to a primary that a failover demoted: the connection must be re-pointed.
_READ_ONLY_TRANSACTION = "25006"


def database_down(error: Exception) -> bool:
    """Whether ``error`` says our database cannot take the event now, rather than that it is bad:
    unreachable, its pool exhausted (TimeoutError), or read-only after a failover."""
    if isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)):
        return True
    return isinstance(error, exc.DBAPIError) and (
        error.connection_invalidated or getattr(error.orig, "sqlstate", None) == _READ_ONLY_TRANSACTION
    )


class Dispatcher:
    def __init__(
        self,
        consumer: str,
        handlers: dict[str, Handler],
        catalogue: Catalogue,
        uow_factory: Callable[[], UnitOfWork],
        inbox: Table,
        *,
        max_attempts: int = 5,
        backoff_base: float = 0.1,
        backoff_max: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.consumer = consumer
        self.handlers = handlers
        self.catalogue = catalogue
        self.uow_factory = uow_factory
        self.inbox = inbox
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.sleep = sleep

    def deliver(self, event: Event) -> tuple[Outcome, Failure | None]:
        return self.deliver_batch([event])[0]

    def deliver_batch(
        self, events: list[Event], *, deadline: float | None = None
    ) -> list[tuple[Outcome, Failure | None] | None]:
        """Apply events in order, in one transaction when all goes well.

        One transaction per poll batch rather than per event is what lets a consumer keep up with
        the broker. If any handler fails, the batch's transaction rolls back whole and its events
        are applied one at a time, so only the failing event is retried and dead-lettered. Each of
        those may take seconds of retries: once ``deadline`` (``time.monotonic()``) has passed, the
        events not yet tried are left untried (None), at least one having been.
        """
        results: list[tuple[Outcome, Failure | None] | None] = [None] * len(events)
        work = []
        for index, event in enumerate(events):
            handler = self.handlers.get(event.type)
            if handler is None:
                results[index] = (Outcome.IGNORED, None)
                continue
            try:
                data = self.catalogue.schema_for(event.type).load(event.data)
            except ValidationError as err:
                failure = Failure("schema", f"payload does not match {event.type}: {err.messages}", 0)
                results[index] = (Outcome.DEAD, failure)
                continue
            work.append((index, handler, event.with_data(data)))

        if len(work) > 1:
            try:
                for index, outcome in self._apply(work).items():
                    results[index] = (outcome, None)
                return results
            except Exception as error:  # noqa: BLE001 - any failure sends us to the one-at-a-time path
                log.info("batch of %d rolled back (%s); applying one at a time", len(work), error)
        for tried, (index, handler, event) in enumerate(work):
            if tried and deadline is not None and time.monotonic() >= deadline:
                break
            results[index] = self._deliver_alone(handler, event)
        return results

    def _deliver_alone(self, handler: Handler, event: Event) -> tuple[Outcome, Failure | None]:
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self._apply([(0, handler, event)])[0], None
            except Exception as error:
                if attempt == self.max_attempts and database_down(error):
                    raise InfrastructureDown(str(error)) from error
                last = error
            log.warning(
                "handler for %s failed (attempt %d/%d): %s", event.type, attempt, self.max_attempts, last
            )
            if attempt < self.max_attempts:
                self.sleep(min(self.backoff_base * 2 ** (attempt - 1), self.backoff_max))
        return Outcome.DEAD, Failure("handler", f"{type(last).__name__}: {last}", self.max_attempts)

    def _apply(self, work: list[tuple[int, Handler, Event]]) -> dict[int, Outcome]:
        """Claim the events in the inbox, run the handlers of those claimed, commit both together.

        An event this consumer applied before, or one another instance is claiming right now, is
        not claimed, and its handler does not run.
        """
        outcomes: dict[int, Outcome] = {}
        with self.uow_factory() as uow:
            events = {e.id: e.type for _, _, e in work}
            claimed = claim(uow.connection, self.inbox, self.consumer, events, datetime.now(UTC))
            run: list[Event] = []  # consecutive events waiting for the same ManyHandler
            for position, (index, handler, event) in enumerate(work):
                if event.id not in claimed:  # applied before, or earlier in this very batch
                    outcomes[index] = Outcome.DUPLICATE
                else:
                    claimed.discard(event.id)
                    outcomes[index] = Outcome.APPLIED
                    if isinstance(handler, ManyHandler):
                        run.append(event)
                    else:
                        uow.traceparent = event.traceparent
                        handler(event, uow)
                following = work[position + 1][1] if position + 1 < len(work) else None
                if run and following is not handler:  # the run ends: order is kept across types
                    handler.handle_many(run, uow)
                    run = []
            uow.commit()
        return outcomes
