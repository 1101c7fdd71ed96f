"""The topic catalogue: which topics exist, which event types each carries, and each type's schema.

Topics are created from this list (``unionhub topics``); auto-creation is off on the broker, so a
type that is not catalogued cannot be published by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import Schema

from schemas.events import benefits, courses, members, stations


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    key: str  # what the record key (the event subject) is
    types: dict[str, type[Schema]] = field(default_factory=dict)

    @property
    def dlq(self) -> str:
        return dlq_name(self.name)


def dlq_name(topic: str) -> str:
    return f"{topic}.dlq"


class UnknownEventType(LookupError):
    pass


class Catalogue:
    def __init__(self, topics: list[Topic]):
        self.topics = {t.name: t for t in topics}
        self._by_type = {etype: t for t in topics for etype in t.types}
        # One instance per type: marshmallow schemas are reusable, and building one per event cost
        # the consumer about a tenth of its time.
        self._schemas = {etype: schema() for t in topics for etype, schema in t.types.items()}

    def topic_for(self, event_type: str) -> Topic:
        try:
            return self._by_type[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def schema_for(self, event_type: str) -> Schema:
        try:
            return self._schemas[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def types(self) -> list[str]:
        return sorted(self._by_type)


CATALOGUE = Catalogue(
    [
        Topic("members", partitions=12, key="member_id", types=members.SCHEMAS),
        Topic("courses", partitions=6, key="member_id", types=courses.SCHEMAS),
        Topic("benefits", partitions=24, key="member_id", types=benefits.SCHEMAS),
        Topic("stations", partitions=6, key="station_id", types=stations.SCHEMAS),
    ]
)
