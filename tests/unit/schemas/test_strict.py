"""Strict, the base of every request body and query: unknown fields ignored, U+0000 and lone
surrogates refused."""

import json

import pytest
from marshmallow import ValidationError, fields

from schemas.http import LONE_SURROGATE, NUL_CHARACTER, Strict
from services.common import i18n


class NoteIn(Strict):
    name = fields.String()
    tags = fields.List(fields.String())
    extra = fields.Dict(data_key="meta")


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"name": "a\x00b"}, "name", NUL_CHARACTER),
        ({"tags": ["water", "\x00"]}, "tags", NUL_CHARACTER),
        ({"meta": {"k": ["\x00"]}}, "meta", NUL_CHARACTER),
        ({"meta": {"\x00": 1}}, "meta", NUL_CHARACTER),
        ({"name": "a\ud800b"}, "name", LONE_SURROGATE),
        ({"tags": ["water", "\udfff"]}, "tags", LONE_SURROGATE),
        ({"meta": {"k": ["\udc00"]}}, "meta", LONE_SURROGATE),
        ({"meta": {"\ud83d": 1}}, "meta", LONE_SURROGATE),
    ],
)
def test_a_field_holding_a_character_the_database_cannot_store_is_refused_by_its_name(body, field, code):
    with pytest.raises(ValidationError) as refused:
        NoteIn().load(body)

    assert refused.value.messages == {field: [code]}
    assert i18n.code_for(code) == code  # worded in both languages, not "invalid"


def test_a_surrogate_pair_in_json_is_one_character_and_passes():
    assert NoteIn().load(json.loads(r'{"name": "\ud83d\ude00"}')) == {"name": "😀"}


def test_an_unknown_field_holding_nul_is_ignored_as_unknown_fields_are():
    assert NoteIn().load({"name": "驿站", "old_field": "\x00"}) == {"name": "驿站"}
