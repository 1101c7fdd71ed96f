"""Strict, the base of every request body and query: unknown fields ignored, U+0000 refused."""

import pytest
from marshmallow import ValidationError, fields

from schemas.http import NUL_CHARACTER, Strict
from services.common import i18n


class NoteIn(Strict):
    name = fields.String()
    tags = fields.List(fields.String())
    extra = fields.Dict(data_key="meta")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "a\x00b"}, "name"),
        ({"tags": ["water", "\x00"]}, "tags"),
        ({"meta": {"k": ["\x00"]}}, "meta"),
        ({"meta": {"\x00": 1}}, "meta"),
    ],
)
def test_a_field_holding_nul_is_refused_by_its_name(body, field):
    with pytest.raises(ValidationError) as refused:
        NoteIn().load(body)

    assert refused.value.messages == {field: [NUL_CHARACTER]}
    assert i18n.code_for(NUL_CHARACTER) == NUL_CHARACTER  # worded in both languages, not "invalid"


def test_an_unknown_field_holding_nul_is_ignored_as_unknown_fields_are():
    assert NoteIn().load({"name": "驿站", "old_field": "\x00"}) == {"name": "驿站"}
