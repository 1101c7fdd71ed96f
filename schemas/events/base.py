from marshmallow import EXCLUDE, Schema, fields


class EventPayload(Schema):
    """Base of every event payload: unknown fields are dropped, never fatal."""

    class Meta:
        unknown = EXCLUDE

    occurred_at = fields.AwareDateTime(required=True, default_timezone=None)


class MemberEvent(EventPayload):
    member_id = fields.String(required=True)
