"""Transactional outbox, the writers' side: an event becomes an outbox row in the transaction that
makes the change it describes.

Writers insert ``serialise``'s row with ``insert_statement`` inside their own transaction (a unit of
work's ``record``); events/relay.py moves the rows to Kafka.
"""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

from sqlalchemy import Table

from .catalogue import Catalogue
from .envelope import Event, encode_data, to_headers


class InvalidEventPayload(ValueError):
    def __init__(self, event_type: str, errors: dict):
        super().__init__(f"{event_type}: {errors}")
        self.errors = errors


def serialise(event: Event, catalogue: Catalogue) -> dict:
    """The outbox row for an event, its payload dumped and checked against the catalogue schema."""
    topic = catalogue.topic_for(event.type)
    schema = catalogue.schema_for(event.type)
    payload = schema.dump(event.data)
    errors = schema.validate(payload)
    if errors:
        raise InvalidEventPayload(event.type, errors)
    return {
        "event_id": event.id,
        "topic": topic.name,
        "key": event.key,
        "type": event.type,
        "headers": json.dumps([[k, v.decode()] for k, v in to_headers(event)]),
        "payload": encode_data(payload).decode(),
        "created_at": datetime.now(UTC),
    }


@functools.cache
def insert_statement(outbox: Table):
    """The INSERT of an outbox row (``serialise``'s), for a writer that runs it its own way."""
    # Built once per table, the row passed as parameters: an INSERT built per call, with .values(),
    # had SQLAlchemy work out its cache key on every event recorded, a third of the cost of recording
    # one (docs/benchmarks.md, "Benefit-week redemptions").
    return outbox.insert()
