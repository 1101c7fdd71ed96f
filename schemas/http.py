"""What every service's HTTP schemas share: the base of request bodies and the answer that names a
created object."""

from collections.abc import Mapping

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load

# The code of a field that holds U+0000 (services/common/i18n.py words it).
NUL_CHARACTER = "nul_character"


class Strict(Schema):
    class Meta:
        # The mini-app may send fields it no longer needs; ignoring them keeps old clients working.
        unknown = EXCLUDE
        ordered = True

    @pre_load
    def _refuse_nul(self, data, **_kwargs):
        # PostgreSQL's text cannot hold U+0000 (SQLite's can): a statement sent with one fails, which
        # would answer 500. No field of ours means it, so it is refused here, field by field.
        if isinstance(data, Mapping):
            keys = (field.data_key or name for name, field in self.load_fields.items())
            found = {key: [NUL_CHARACTER] for key in keys if key in data and _holds_nul(data[key])}
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


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False
