"""An in-memory bus with the consumer's semantics, for fast unit tests of handlers.

``publish`` delivers at once through the same Dispatcher the Kafka runner uses, so inbox
de-duplication, schema checks and dead-lettering behave as in production; only the broker is gone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, Table, select, update

from .dispatch import Dispatcher, Failure, Outcome
from .envelope import Event, from_record


@dataclass
class InMemoryBus:
    dispatchers: list[Dispatcher] = field(default_factory=list)
    published: list[Event] = field(default_factory=list)
    dead_letters: list[tuple[str, Event, Failure]] = field(default_factory=list)

    def subscribe(self, dispatcher: Dispatcher) -> None:
        self.dispatchers.append(dispatcher)

    def publish(self, event: Event) -> dict[str, Outcome]:
        self.published.append(event)
        outcomes = {}
        for dispatcher in self.dispatchers:
            outcome, failure = dispatcher.deliver(event)
            outcomes[dispatcher.consumer] = outcome
            if failure is not None:
                self.dead_letters.append((dispatcher.consumer, event, failure))
        return outcomes

    def relay(self, engine: Engine, outbox: Table) -> int:
        """Publish a service's unsent outbox rows, as the Kafka relay would, and mark them sent."""
        # Read, deliver, then mark: a handler may write to the same database, so no transaction
        # stays open while it runs.
        with engine.connect() as conn:
            rows = conn.execute(select(outbox).where(outbox.c.sent_at.is_(None)).order_by(outbox.c.seq)).all()
        for row in rows:
            headers = [(k, v.encode()) for k, v in json.loads(row.headers)]
            self.publish(from_record(row.payload.encode(), headers))
        if rows:
            with engine.begin() as conn:
                conn.execute(
                    update(outbox)
                    .where(outbox.c.seq.in_([r.seq for r in rows]))
                    .values(sent_at=datetime.now(UTC))
                )
        return len(rows)
