"""What every service's HTTP schemas share: the base of request bodies and the answer that names a
created object."""

from marshmallow import EXCLUDE, Schema, fields


class Strict(Schema):
    class Meta:
        # The mini-app may send fields it no longer needs; ignoring them keeps old clients working.
        unknown = EXCLUDE
        ordered = True


class IdOut(Schema):
    id = fields.String(required=True)
