"""The base of every service's request schemas."""

from marshmallow import EXCLUDE, Schema


class Strict(Schema):
    class Meta:
        # The mini-app may send fields it no longer needs; ignoring them keeps old clients working.
        unknown = EXCLUDE
        ordered = True
