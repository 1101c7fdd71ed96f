"""docs/asyncapi.yaml: the event contract as AsyncAPI 3.0, generated from the catalogue, the payload
schemas and the envelope.

The committed document must equal what the code generates now, so a change to a topic, a type, a
field or a header comes with a regenerated document. The structure checks below are ours: the PyPI
package that models AsyncAPI 3 (pydantic-asyncapi) rejects valid Kafka message bindings, so it cannot
judge this document.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

import pytest
import yaml
from marshmallow import fields, validate

from events import asyncapi
from events.catalogue import CATALOGUE, Catalogue, Topic
from events.consumer import ORIGIN_HEADERS
from events.envelope import SPEC_VERSION, Event, to_headers
from schemas.events import members

# AsyncAPI 3.0.0: the fixed fields of the root, components and operation objects, and the pattern
# every key of channels, operations and components must match.
ROOT_FIELDS = {
    "asyncapi", "id", "info", "servers", "defaultContentType", "channels", "operations", "components",
}  # fmt: skip
COMPONENT_FIELDS = {
    "schemas", "servers", "channels", "operations", "messages", "securitySchemes", "serverVariables",
    "parameters", "correlationIds", "replies", "replyAddresses", "externalDocs", "tags",
    "operationTraits", "messageTraits", "serverBindings", "channelBindings", "operationBindings",
    "messageBindings",
}  # fmt: skip
KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")


@pytest.fixture(scope="module")
def doc() -> dict:
    return yaml.safe_load(asyncapi.DOCUMENT.read_text(encoding="utf-8"))


def resolve(doc: dict, ref: str):
    assert ref.startswith("#/"), f"{ref} is not a local reference"
    node = doc
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and token in node, f"{ref} does not resolve"
        node = node[token]
    return node


def refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def payload(doc: dict, event_type: str) -> dict:
    return resolve(doc, doc["components"]["messages"][event_type]["payload"]["$ref"])


def test_the_committed_document_is_what_the_code_generates():
    committed = asyncapi.DOCUMENT.read_text(encoding="utf-8")

    assert committed == asyncapi.render(), "stale: run `python -m events.asyncapi --write`"


def test_the_document_has_the_asyncapi_3_structure(doc):
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc) <= ROOT_FIELDS
    assert doc["info"]["title"] and isinstance(doc["info"]["version"], str)
    assert {"channels", "operations", "components"} <= set(doc)
    assert set(doc["components"]) <= COMPONENT_FIELDS
    keyed = [doc["channels"], doc["operations"], *doc["components"].values()]
    bad = [key for mapping in keyed for key in mapping if not KEY.match(key)]
    assert not bad, f"keys AsyncAPI does not allow: {bad}"


def test_every_reference_resolves(doc):
    found = list(refs(doc))

    assert len(found) > 100
    for ref in found:
        resolve(doc, ref)


def test_channels_hold_component_messages_and_operations_use_their_channels_messages(doc):
    for name, channel in doc["channels"].items():
        assert channel["address"] == name == channel["bindings"]["kafka"]["topic"]
        for ref in channel["messages"].values():
            assert ref["$ref"].startswith("#/components/messages/"), name
    for name, operation in doc["operations"].items():
        assert operation["action"] in {"send", "receive"}, name
        channel = operation["channel"]["$ref"]
        assert channel.startswith("#/channels/") and resolve(doc, channel), name
        # AsyncAPI 3: an operation's messages are a subset of its channel's.
        assert operation["messages"], name
        for ref in operation["messages"]:
            assert ref["$ref"].startswith(f"{channel}/messages/"), (name, ref)


def test_every_catalogued_type_is_one_message_on_its_topic_only(doc):
    messages = doc["components"]["messages"]
    assert set(messages) - {asyncapi.DEAD_LETTER_MESSAGE} == set(CATALOGUE.types())
    for event_type in CATALOGUE.types():
        on = [name for name, channel in doc["channels"].items() if event_type in channel["messages"]]
        assert on == [CATALOGUE.topic_for(event_type).name], event_type
        sent = [name for name, op in doc["operations"].items() if op["action"] == "send" and any(
            ref["$ref"].endswith(f"/messages/{event_type}") for ref in op["messages"]
        )]  # fmt: skip
        assert sent == [f"{CATALOGUE.topic_for(event_type).name}.send"], event_type
        assert messages[event_type]["name"] == event_type
        assert messages[event_type]["headers"]["properties"]["ce_type"] == {"const": event_type}


def test_each_topic_is_a_channel_with_its_partitions_and_dead_letter_channel(doc):
    expected = {name for topic in CATALOGUE.topics.values() for name in (topic.name, topic.dlq)}
    assert set(doc["channels"]) == expected
    for topic in CATALOGUE.topics.values():
        assert doc["channels"][topic.name]["bindings"]["kafka"]["partitions"] == topic.partitions
        assert topic.key in doc["channels"][topic.name]["description"]
        assert list(doc["channels"][topic.dlq]["messages"]) == [asyncapi.DEAD_LETTER_MESSAGE]
        assert {f"{topic.dlq}.send", f"{topic.dlq}.receive"} <= set(doc["operations"])


def test_a_changed_catalogue_changes_the_document():
    left = Topic("members", partitions=12, key="member_id", types={members.LEFT: members.MemberLeftV1})

    built = asyncapi.build(Catalogue([left]))

    assert built["channels"]["members"]["bindings"]["kafka"]["partitions"] == 12
    assert set(built["components"]["messages"]) == {members.LEFT, asyncapi.DEAD_LETTER_MESSAGE}


@pytest.mark.parametrize("event_type", CATALOGUE.types())
def test_each_payload_is_its_marshmallow_schema_as_json_schema(doc, event_type):
    schema = CATALOGUE.schema_for(event_type)
    described = payload(doc, event_type)

    assert described["type"] == "object"
    assert list(described["properties"]) == list(schema.fields)
    assert sorted(described.get("required", [])) == sorted(n for n, f in schema.fields.items() if f.required)
    # Unknown fields are dropped, never fatal: the payload must stay open to a newer producer's.
    assert described.get("additionalProperties", True) is not False
    for name, field in schema.fields.items():
        prop = described["properties"][name]
        types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        assert ("null" in types) == field.allow_none, (event_type, name)
        if isinstance(field, fields.DateTime):
            assert types[0] == "string" and prop["format"] == "date-time", (event_type, name)
        if isinstance(field, fields.Integer):
            assert types[0] == "integer", (event_type, name)
        if isinstance(field, fields.List):
            assert types[0] == "array" and prop["items"]["type"], (event_type, name)
        for one_of in (v for v in field.validators if isinstance(v, validate.OneOf)):
            assert set(prop["enum"]) - {None} == set(one_of.choices), (event_type, name)


def test_headers_are_the_ones_the_envelope_writes(doc):
    headers = doc["components"]["schemas"][asyncapi.HEADERS_SCHEMA]
    untraced = Event(type=members.LEFT, source="/unionhub/enrolment", subject="m-1", data={})
    event = replace(untraced, traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")

    written = dict(to_headers(event))

    assert set(headers["properties"]) == set(written) | {"x-replay-id"}
    assert headers["required"] == [name for name, _ in to_headers(untraced)]
    for constant in ("ce_specversion", "content-type"):
        assert written[constant].decode() == headers["properties"][constant]["const"], constant
    assert headers["properties"]["ce_specversion"]["const"] == SPEC_VERSION
    datetime.fromisoformat(written["ce_time"].decode())  # the date-time the document promises


def test_dead_letters_carry_where_they_came_from(doc):
    required = doc["components"]["schemas"][asyncapi.DEAD_LETTER_HEADERS_SCHEMA]["required"]

    assert set(ORIGIN_HEADERS) <= set(required)
    assert "x-error-kind" in required


def test_the_generator_refuses_a_header_it_cannot_describe(monkeypatch):
    monkeypatch.delitem(asyncapi.ENVELOPE_HEADERS, "traceparent")

    with pytest.raises(RuntimeError, match="traceparent"):
        asyncapi.build()


def test_the_command_prints_or_writes_the_document(tmp_path, capsys):
    target = tmp_path / "asyncapi.yaml"

    assert asyncapi.main([]) == 0
    assert capsys.readouterr().out == asyncapi.render()
    assert asyncapi.main(["--write", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == asyncapi.render()
