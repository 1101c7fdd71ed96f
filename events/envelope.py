"""CloudEvents 1.0 envelope and its Kafka binding.

We use the binary content mode of the CloudEvents Kafka protocol binding: attributes travel as
``ce_*`` headers and the record value is the JSON payload alone. Brokers, tools and consumers that
only care about the payload read plain JSON, and routing needs no parsing of the value.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


class EnvelopeError(ValueError):
    """A Kafka record that is not a CloudEvent we can read."""


@dataclass(frozen=True)
class Event:
    type: str
    source: str
    subject: str
    data: dict
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    traceparent: str | None = None

    @property
    def key(self) -> str:
        # The subject is the aggregate id (member, station), so one aggregate's events share a
        # partition and stay in order.
        return self.subject

    def with_data(self, data: dict) -> Event:
        return replace(self, data=data)


def to_headers(event: Event) -> list[tuple[str, bytes]]:
    headers = [
        ("ce_specversion", SPEC_VERSION),
        ("ce_id", event.id),
        ("ce_source", event.source),
        ("ce_type", event.type),
        ("ce_subject", event.subject),
        ("ce_time", event.time.isoformat()),
        ("content-type", CONTENT_TYPE),
    ]
    if event.traceparent:
        headers.append(("traceparent", event.traceparent))
    return [(name, value.encode()) for name, value in headers]


def encode_data(data: dict) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def from_record(value: bytes | None, headers: list[tuple[str, bytes]] | None) -> Event:
    attrs = {name: raw.decode("utf-8", "replace") for name, raw in headers or [] if raw is not None}
    missing = [a for a in ("ce_id", "ce_type", "ce_source", "ce_subject") if not attrs.get(a)]
    if missing:
        raise EnvelopeError(f"missing CloudEvents attributes: {', '.join(missing)}")
    if attrs.get("ce_specversion") != SPEC_VERSION:
        raise EnvelopeError(f"unsupported specversion {attrs.get('ce_specversion')!r}")
    try:
        data = json.loads(value) if value else {}
        time = datetime.fromisoformat(attrs["ce_time"]) if attrs.get("ce_time") else datetime.now(UTC)
    # RecursionError: a value nested past the interpreter's depth (a thousand brackets) must be
    # dead-lettered like any other unreadable value, not crash the consumer on it again and again.
    except (ValueError, RecursionError) as exc:
        raise EnvelopeError(f"unreadable event: {exc}") from exc
    if not isinstance(data, dict):
        raise EnvelopeError("event data is not a JSON object")
    return Event(
        id=attrs["ce_id"],
        type=attrs["ce_type"],
        source=attrs["ce_source"],
        subject=attrs["ce_subject"],
        time=time,
        data=data,
        traceparent=attrs.get("traceparent"),
    )
