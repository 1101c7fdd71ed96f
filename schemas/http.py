"""What every service's HTTP schemas share: the base of request bodies and the answer that names a
created object."""

import re
from collections.abc import Mapping

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

# The codes of a field that holds U+0000 or a lone UTF-16 surrogate (services/common/i18n.py words
# them).
NUL_CHARACTER = "nul_character"
LONE_SURROGATE = "lone_surrogate"

# A surrogate left alone by JSON's "\ud800" escape (a pair becomes one character) is no character of
# UTF-8: psycopg and sqlite3 cannot encode it.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class Strict(Schema):
    class Meta:
        # The mini-app may send fields it no longer needs; ignoring them keeps old clients working.
        unknown = EXCLUDE
        ordered = True

    @pre_load
    def _refuse_unstorable(self, data, **_kwargs):
        # PostgreSQL's text cannot hold U+0000 (SQLite's can), and no database takes a lone surrogate:
        # a statement sent with one fails, which would answer 500 (and on the pipelined path drop the
        # pooled connection). No field of ours means either, so they are refused here, field by field.
        if isinstance(data, Mapping):
            keys = (field.data_key or name for name, field in self.load_fields.items())
            found = {key: [code] for key in keys if key in data and (code := _unstorable(data[key]))}
            if found:
                raise ValidationError(found)
        return data


class IdOut(Schema):
    id = fields.String(required=True)


class AuditEntryOut(Schema):
    """A row of a service's audit trail (services/common/audit.py), without its subject column."""

    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields")
    request_id = fields.String(allow_none=True)


def _unstorable(value) -> str | None:
    """The code of the first character in ``value`` (searched through its items) that the database
    cannot store, or None."""
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        if found is None:
            return None
        return NUL_CHARACTER if found.group() == "\x00" else LONE_SURROGATE
    items = ()
    if isinstance(value, Mapping):
        items = (part for pair in value.items() for part in pair)
    elif isinstance(value, list | tuple):
        items = value
    return next((code for item in items if (code := _unstorable(item))), None)


class PosterArgs(Strict):
    """The query of a poster's QR as PNG (a join campaign's, a station's check-in)."""

    scale = fields.Integer(
        load_default=8,
        validate=validate.Range(2, 40),
        metadata={"description": "pixels a module, 2 to 40"},
    )
