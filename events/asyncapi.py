"""The event contract as an AsyncAPI 3.0 document, generated from the code that enforces it.

Channels and their partitions come from the topic catalogue, payloads from the marshmallow schemas
(turned into JSON Schema by apispec's MarshmallowPlugin, the converter flask-smorest uses for the
HTTP APIs), headers from the CloudEvents envelope and the consumer's dead-lettering. The committed
copy is docs/asyncapi.yaml; a unit test regenerates it and fails when the two differ, so::

    python -m events.asyncapi --write        # after changing the catalogue, a schema or the envelope
    python -m events.asyncapi                # print it instead
"""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from .admin import ensure_topics
from .catalogue import CATALOGUE, Catalogue, Topic
from .consumer import ERROR_HEADER_PREFIX, ORIGIN_HEADERS
from .envelope import CONTENT_TYPE, SPEC_VERSION, Event, to_headers

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "asyncapi.yaml"

# Names of the components that are not payloads. Messages are named by their event type and channels
# by their topic, dots included: AsyncAPI keys and JSON pointers allow them.
HEADERS_SCHEMA = "CloudEventHeaders"
DEAD_LETTER_HEADERS_SCHEMA = "DeadLetterHeaders"
DEAD_LETTER_MESSAGE = "deadLetter"

# What each header the envelope writes means. The generator refuses to run when envelope.py writes
# a header missing here, or no longer writes one described here.
ENVELOPE_HEADERS = {
    "ce_specversion": {"type": "string", "const": SPEC_VERSION, "description": "CloudEvents specversion"},
    "ce_id": {
        "type": "string",
        "description": "CloudEvents id, a UUID. Consumers record it in their inbox, so a redelivery "
        "is a no-op.",
    },
    "ce_source": {
        "type": "string",
        "description": "CloudEvents source: the producing service, e.g. `/unionhub/enrolment`.",
    },
    "ce_type": {"type": "string", "description": "CloudEvents type: the event type, ending in its version."},
    "ce_subject": {
        "type": "string",
        "description": "CloudEvents subject: the aggregate id, also the record key.",
    },
    "ce_time": {
        "type": "string",
        "format": "date-time",
        "description": "CloudEvents time: when the event was recorded (ISO 8601, UTC).",
    },
    "content-type": {
        "type": "string",
        "const": CONTENT_TYPE,
        "description": "CloudEvents datacontenttype of the record value.",
    },
    "traceparent": {
        "type": "string",
        "description": "W3C Trace Context, present when the request that caused the event carried one.",
    },
}
# Written by `events.dlq.replay` on the record it sends back; it is not part of the envelope.
REPLAY_HEADER = {
    "x-replay-id": {
        "type": "string",
        "description": "Present when the record was replayed from the dead-letter topic: one id per replay.",
    }
}
# What the consumer runner adds when it dead-letters a record (events/consumer.py).
DEAD_LETTER_HEADERS = {
    "x-original-topic": "the topic the record was read from",
    "x-original-partition": "its partition there",
    "x-original-offset": "its offset there",
    "x-consumer": "the consumer group (service) that could not apply it",
    f"{ERROR_HEADER_PREFIX}kind": "`schema` (payload failed validation, never retried), `handler` (retries "
    "exhausted) or `envelope` (not a readable CloudEvent)",
    f"{ERROR_HEADER_PREFIX}message": "the error, cut to 2000 characters",
    f"{ERROR_HEADER_PREFIX}attempts": "how many times the handler ran",
    f"{ERROR_HEADER_PREFIX}at": "when the record was dead-lettered (ISO 8601, UTC)",
}


def envelope_headers() -> tuple[list[str], list[str]]:
    """The header names the envelope writes: all of them, and those it always writes."""

    def names(traceparent: str | None) -> list[str]:
        event = Event(type="t", source="s", subject="k", data={}, traceparent=traceparent)
        return [name for name, _ in to_headers(event)]

    every, always = names("00-0-0-00"), names(None)
    if set(every) != set(ENVELOPE_HEADERS):
        raise RuntimeError(
            f"events/envelope.py writes {sorted(every)} but ENVELOPE_HEADERS describes "
            f"{sorted(ENVELOPE_HEADERS)}: describe the change in events/asyncapi.py"
        )
    return every, always


def payload_schemas(catalogue: Catalogue) -> dict[str, dict]:
    """JSON Schema of every catalogued payload (and of anything they nest), by schema class name."""
    spec = APISpec("payloads", "1", "3.1.0", plugins=[MarshmallowPlugin()])  # 3.1: null is a JSON type
    registered: set[type] = set()
    for topic in catalogue.topics.values():
        for schema in topic.types.values():
            if schema not in registered:  # one class may serve several types
                spec.components.schema(schema.__name__, schema=schema)
                registered.add(schema)
    return spec.to_dict()["components"]["schemas"]


def _ref(*path: str) -> dict:
    return {"$ref": "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in path)}


def _message(catalogue: Catalogue, topic: Topic, event_type: str) -> dict:
    schema = topic.types[event_type]
    key = {"type": "string", "description": "The event's subject (`ce_subject`)."}
    if topic.key in catalogue.schema_for(event_type).fields:
        key["description"] += f" Equals the payload's `{topic.key}`."
    message = {
        "name": event_type,
        "title": schema.__name__,
        "contentType": CONTENT_TYPE,
        "headers": {
            "type": "object",
            "allOf": [_ref("components", "schemas", HEADERS_SCHEMA)],
            "properties": {"ce_type": {"const": event_type}},
        },
        "payload": _ref("components", "schemas", schema.__name__),
        "bindings": {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING_VERSION}},
    }
    # __doc__ straight from the class: inspect.getdoc would hand every undocumented payload the
    # docstring of its base class.
    if schema.__doc__:
        message["description"] = inspect.cleandoc(schema.__doc__)
    return message


def _channel(address: str, partitions: int, description: str, messages: dict) -> dict:
    return {
        "address": address,
        "description": description,
        "messages": messages,
        "bindings": {
            "kafka": {"topic": address, "partitions": partitions, "bindingVersion": KAFKA_BINDING_VERSION}
        },
    }


def _operation(action: str, channel: str, messages: Iterable[str], summary: str) -> dict:
    return {
        "action": action,
        "channel": _ref("channels", channel),
        "summary": summary,
        "messages": [_ref("channels", channel, "messages", m) for m in messages],
    }


def build(catalogue: Catalogue = CATALOGUE) -> dict:
    every_header, always = envelope_headers()
    if missing := set(ORIGIN_HEADERS) - set(DEAD_LETTER_HEADERS):
        raise RuntimeError(f"events/consumer.py adds {sorted(missing)}: describe it in DEAD_LETTER_HEADERS")
    # ensure-topics is the only place dead-letter topics are created, always with its default.
    dlq_partitions = inspect.signature(ensure_topics).parameters["dlq_partitions"].default

    schemas = {
        HEADERS_SCHEMA: {
            "type": "object",
            "description": "CloudEvents 1.0 attributes in the Kafka protocol binding's binary content mode: "
            "one header each; the record value is the JSON payload alone.",
            "properties": {**{h: ENVELOPE_HEADERS[h] for h in every_header}, **REPLAY_HEADER},
            "required": always,
        },
        DEAD_LETTER_HEADERS_SCHEMA: {
            "type": "object",
            "description": "The original record's headers (the CloudEvents ones, unless the envelope "
            "itself was unreadable) plus these, which say where it came from and why it failed. Replay "
            "strips them again and adds `x-replay-id`.",
            "properties": {h: {"type": "string", "description": d} for h, d in DEAD_LETTER_HEADERS.items()},
            "required": list(DEAD_LETTER_HEADERS),
        },
        **payload_schemas(catalogue),
    }

    messages: dict[str, dict] = {
        DEAD_LETTER_MESSAGE: {
            "name": "dead-letter",
            "title": "Dead letter",
            "summary": "A record a consumer could not apply: key and value as they were on the topic.",
            "headers": _ref("components", "schemas", DEAD_LETTER_HEADERS_SCHEMA),
            "payload": {
                "description": "The original record value, unchanged (normally the event's payload)."
            },
        }
    }
    channels: dict[str, dict] = {}
    operations: dict[str, dict] = {}
    for topic in catalogue.topics.values():
        for event_type in topic.types:
            messages[event_type] = _message(catalogue, topic, event_type)
        channels[topic.name] = _channel(
            topic.name,
            topic.partitions,
            f"The record key is the event's subject, the `{topic.key}` where the payload has one: "
            "one aggregate's events share a partition and stay in order.",
            {t: _ref("components", "messages", t) for t in topic.types},
        )
        channels[topic.dlq] = _channel(
            topic.dlq,
            dlq_partitions,
            f"Dead-letter topic of `{topic.name}`: the records a consumer could not apply.",
            {DEAD_LETTER_MESSAGE: _ref("components", "messages", DEAD_LETTER_MESSAGE)},
        )
        operations[f"{topic.name}.send"] = _operation(
            "send",
            topic.name,
            topic.types,
            "The producing service's outbox relay publishes an event, in order per key.",
        )
        operations[f"{topic.name}.receive"] = _operation(
            "receive",
            topic.name,
            topic.types,
            "Each consuming service reads the topic as a consumer group named after itself and applies "
            "each event exactly once.",
        )
        operations[f"{topic.dlq}.send"] = _operation(
            "send",
            topic.dlq,
            [DEAD_LETTER_MESSAGE],
            "A consumer dead-letters a record it cannot apply, then commits past it.",
        )
        operations[f"{topic.dlq}.receive"] = _operation(
            "receive",
            topic.dlq,
            [DEAD_LETTER_MESSAGE],
            f"`unionhub dlq list --topic {topic.name}` shows the records; `unionhub dlq replay "
            f"--topic {topic.name}` sends each back to `{topic.name}` once the cause is fixed.",
        )

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "UnionHub events",
            "version": version("unionhub"),
            "description": "The events UnionHub's services exchange over Kafka. Generated by "
            "`python -m events.asyncapi --write` from events/catalogue.py, schemas/events/ and "
            "events/envelope.py; docs/events.md describes each event for people.\n\n"
            "An event type ends in its version (`unionhub.member.joined.v2`). Producers may add optional "
            "fields to a version; renaming, removing or changing the meaning of a field makes a new "
            "version, published alongside the old one until every consumer has moved. Consumers ignore "
            "fields they do not know.",
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def render(catalogue: Catalogue = CATALOGUE) -> str:
    header = "# Generated by `python -m events.asyncapi --write`; do not edit by hand.\n"
    return header + yaml.safe_dump(build(catalogue), sort_keys=False, allow_unicode=True, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m events.asyncapi", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--write",
        nargs="?",
        const=DOCUMENT,
        type=Path,
        metavar="PATH",
        help=f"write the document to PATH (default {DOCUMENT.relative_to(DOCUMENT.parents[1])}) "
        "instead of printing it",
    )
    args = parser.parse_args(argv)
    text = render()
    if args.write is None:
        sys.stdout.write(text)
    else:
        args.write.write_text(text, encoding="utf-8")
        print(f"wrote {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
