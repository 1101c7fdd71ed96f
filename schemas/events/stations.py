"""stations topic, keyed by station_id."""

from marshmallow import fields

from .base import EventPayload


class StationEvent(EventPayload):
    station_id = fields.String(required=True)


class StationOpenedV1(StationEvent):
    member_id = fields.String(allow_none=True, load_default=None)


class StationClosedV1(StationEvent):
    member_id = fields.String(allow_none=True, load_default=None)


class ShiftEvent(StationEvent):
    shift_id = fields.String(required=True)
    member_id = fields.String(required=True)
    duty_group_id = fields.String(allow_none=True, load_default=None)


class ShiftStartedV1(ShiftEvent):
    pass


class ShiftCompletedV1(ShiftEvent):
    minutes = fields.Integer(required=True, strict=True)


class ShiftMissedV1(StationEvent):
    duty_group_id = fields.String(required=True)
    week = fields.String(required=True)


class LockerDepositedV1(StationEvent):
    locker_id = fields.String(required=True)
    member_id = fields.String(required=True)


class LockerCollectedV1(StationEvent):
    locker_id = fields.String(required=True)
    member_id = fields.String(required=True)


class IssueReportedV1(StationEvent):
    category = fields.String(required=True)
    note = fields.String(allow_none=True, load_default=None)
