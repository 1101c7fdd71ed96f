"""Contract test of every catalogued event type.

For each type a sample payload is built from its schema's declared fields, sent through the real
producer path (dump, validate, JSON, CloudEvents headers) and loaded back as a consumer would. A new
type is covered without editing this file; a new kind of field makes ``sample_value`` fail loudly.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from marshmallow import ValidationError, fields, validate

from events.catalogue import CATALOGUE
from events.envelope import Event, from_record
from events.outbox import serialise
from schemas.events import members

TYPES = CATALOGUE.types()


def sample_value(name: str, field: fields.Field):
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return list(validator.choices)[-1]
    if isinstance(field, fields.DateTime):
        return datetime(2024, 5, 1, 8, 30, 15, tzinfo=UTC)
    if isinstance(field, fields.Boolean):
        return True
    if isinstance(field, fields.Integer):
        return 1250
    if isinstance(field, fields.String):
        return f"{name}-value"
    if isinstance(field, fields.List):
        return [sample_value(name, field.inner), sample_value(name, field.inner)]
    raise AssertionError(f"contract test cannot build a sample for {type(field).__name__} field {name!r}")


def sample_payload(event_type: str) -> dict:
    schema = CATALOGUE.schema_for(event_type)
    return {name: sample_value(name, field) for name, field in schema.fields.items()}


def required_fields() -> list[tuple[str, str]]:
    return [
        (t, name) for t in TYPES for name, field in CATALOGUE.schema_for(t).fields.items() if field.required
    ]


def through_the_wire(event_type: str, data: dict) -> dict:
    """What a consumer receives: the producer's outbox row, as Kafka would deliver it."""
    event = Event(type=event_type, source="/contract-test", subject="subject-1", data=data)
    row = serialise(event, CATALOGUE)
    headers = [(k, v.encode()) for k, v in json.loads(row["headers"])]
    return from_record(row["payload"].encode(), headers).data


def test_catalogue_has_types_and_each_type_lives_on_one_topic():
    assert len(TYPES) >= 20
    for event_type in TYPES:
        assert event_type.startswith("unionhub.") and event_type.rsplit(".", 1)[-1].startswith("v")
        assert event_type in CATALOGUE.topic_for(event_type).types


@pytest.mark.parametrize("event_type", TYPES)
def test_sample_payload_round_trips_through_producer_and_consumer(event_type):
    data = sample_payload(event_type)

    loaded = CATALOGUE.schema_for(event_type).load(through_the_wire(event_type, data))

    assert loaded == data


@pytest.mark.parametrize("event_type", TYPES)
def test_unknown_extra_field_from_a_newer_producer_is_accepted(event_type):
    schema = CATALOGUE.schema_for(event_type)
    wire = schema.dump(sample_payload(event_type))

    loaded = schema.load({**wire, "added_in_a_later_version": {"nested": [1, 2]}})

    assert loaded == sample_payload(event_type)


@pytest.mark.parametrize(("event_type", "field_name"), required_fields())
def test_missing_required_field_is_reported_by_name(event_type, field_name):
    schema = CATALOGUE.schema_for(event_type)
    wire = schema.dump(sample_payload(event_type))
    del wire[field_name]

    with pytest.raises(ValidationError) as caught:
        schema.load(wire)

    assert caught.value.messages == {field_name: ["Missing data for required field."]}


@pytest.mark.parametrize("event_type", TYPES)
def test_every_payload_carries_an_aware_occurred_at(event_type):
    schema = CATALOGUE.schema_for(event_type)
    wire = schema.dump(sample_payload(event_type))

    with pytest.raises(ValidationError) as caught:
        schema.load({**wire, "occurred_at": "2024-05-01T08:30:15"})  # no offset

    assert "occurred_at" in caught.value.messages


# --- member events carry the membership, never the person ------------------------------------------

PERSONAL = {"name", "mobile", "id_number", "openid", "employer", "occupation", "birth_date", "sex"}
# joined.v1 is no longer produced; its catalogue entry only reads records still on the topic.
RETIRED = {members.JOINED_V1: {"employer", "occupation"}}


def test_current_member_events_carry_only_what_consumers_need():
    for event_type in (members.JOINED, members.REASSIGNED):
        assert set(CATALOGUE.schema_for(event_type).fields) == {
            "occurred_at", "member_id", "branch_id", "branch_path", "status",
            *(["card_no"] if event_type == members.JOINED else []),
        }  # fmt: skip
    for event_type in members.SCHEMAS:
        assert not PERSONAL & set(CATALOGUE.schema_for(event_type).fields) - RETIRED.get(event_type, set())


def test_a_joined_v1_record_still_on_the_topic_loads():
    record = {
        "occurred_at": "2024-05-01T08:30:15+00:00", "member_id": "m-1", "branch_id": "b-1",
        "branch_path": ["root", "b-1"], "card_no": "GH5200000000017", "status": "active",
        "campaign_id": None, "employer": "顺丰速运", "occupation": "快递员",
    }  # fmt: skip
    assert CATALOGUE.topic_for(members.JOINED_V1).name == "members"
    assert CATALOGUE.schema_for(members.JOINED_V1).load(record)["employer"] == "顺丰速运"
    assert members.JOINED != members.JOINED_V1


def test_a_reassigned_sample_round_trips():
    data = {
        "occurred_at": datetime(2026, 11, 29, 8, 0, tzinfo=UTC), "member_id": "m-1", "branch_id": "b-1",
        "branch_path": ["root", "city", "b-1"], "status": "suspended",
    }  # fmt: skip
    assert CATALOGUE.schema_for(members.REASSIGNED).load(through_the_wire(members.REASSIGNED, data)) == data
