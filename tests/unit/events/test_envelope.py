"""The CloudEvents envelope in Kafka binary content mode."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from events.envelope import EnvelopeError, Event, encode_data, from_record, to_headers
from schemas.events.members import APPROVED


def sample(**overrides) -> Event:
    fields = dict(
        type=APPROVED,
        source="/enrolment",
        subject="m-42",
        data={"member_id": "m-42", "branch_id": "b-1", "note": "会员"},
        time=datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=UTC),
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    )
    return Event(**{**fields, **overrides})


def test_event_survives_the_round_trip_through_headers_and_value():
    event = sample()

    back = from_record(encode_data(event.data), to_headers(event))

    assert back == event


def test_attributes_travel_as_ce_headers_and_the_value_is_the_bare_payload():
    event = sample()

    headers = dict(to_headers(event))
    value = encode_data(event.data)

    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"] == event.id.encode()
    assert headers["ce_type"] == APPROVED.encode()
    assert headers["ce_source"] == b"/enrolment"
    assert headers["ce_subject"] == b"m-42"
    assert headers["ce_time"] == b"2024-05-01T08:30:15.123456+00:00"
    assert headers["content-type"] == b"application/json"
    assert json.loads(value) == event.data  # no envelope wrapped around the payload


def test_record_key_is_the_subject_so_an_aggregate_keeps_its_order():
    assert sample(subject="station-9").key == "station-9"


def test_payload_encoding_is_compact_sorted_and_utf8():
    assert encode_data({"b": 1, "a": "会员"}) == '{"a":"会员","b":1}'.encode()


def test_traceparent_header_only_when_there_is_one():
    names = [name for name, _ in to_headers(sample(traceparent=None))]

    assert "traceparent" not in names
    assert from_record(b"{}", to_headers(sample(traceparent=None))).traceparent is None


def test_new_events_get_unique_ids_and_an_aware_time():
    a = Event(type="t", source="s", subject="k", data={})
    b = Event(type="t", source="s", subject="k", data={})

    assert a.id != b.id
    assert a.time.tzinfo is not None


def test_with_data_keeps_every_attribute():
    event = sample()

    changed = event.with_data({"x": 1})

    assert changed.data == {"x": 1}
    assert (changed.id, changed.type, changed.time, changed.traceparent) == (
        event.id,
        event.type,
        event.time,
        event.traceparent,
    )


def test_empty_value_reads_as_empty_data():
    assert from_record(None, to_headers(sample())).data == {}


def test_missing_attributes_are_named():
    headers = [(k, v) for k, v in to_headers(sample()) if k not in ("ce_id", "ce_subject")]

    with pytest.raises(EnvelopeError, match="ce_id, ce_subject"):
        from_record(b"{}", headers)


def test_record_without_headers_is_refused():
    with pytest.raises(EnvelopeError, match="missing CloudEvents attributes"):
        from_record(b"{}", None)


def test_unsupported_specversion_is_refused():
    headers = [(k, b"0.3" if k == "ce_specversion" else v) for k, v in to_headers(sample())]

    with pytest.raises(EnvelopeError, match="specversion"):
        from_record(b"{}", headers)


# Nested past the interpreter's recursion limit: the JSON parser raises RecursionError.
TOO_DEEP = b'{"a":' + b"[" * 1100 + b"]" * 1100 + b"}"


@pytest.mark.parametrize(
    "value", [b"{not json", b"\xff\xfe", TOO_DEEP], ids=["not json", "not utf-8", "too deep"]
)
def test_unreadable_value_is_refused(value):
    with pytest.raises(EnvelopeError, match="unreadable"):
        from_record(value, to_headers(sample()))


def test_unreadable_time_is_refused():
    headers = [(k, b"yesterday" if k == "ce_time" else v) for k, v in to_headers(sample())]

    with pytest.raises(EnvelopeError, match="unreadable"):
        from_record(b"{}", headers)


@pytest.mark.parametrize("value", [b"[1, 2]", b'"text"', b"42"])
def test_value_that_is_not_a_json_object_is_refused(value):
    with pytest.raises(EnvelopeError, match="not a JSON object"):
        from_record(value, to_headers(sample()))
