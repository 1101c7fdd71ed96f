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


# The event types of this topic, spelled here once; the catalogue, the services and the tests import them.
STATION_OPENED = "unionhub.station.opened.v1"
STATION_CLOSED = "unionhub.station.closed.v1"
SHIFT_STARTED = "unionhub.shift.started.v1"
SHIFT_COMPLETED = "unionhub.shift.completed.v1"
SHIFT_MISSED = "unionhub.shift.missed.v1"
LOCKER_DEPOSITED = "unionhub.locker.deposited.v1"
LOCKER_COLLECTED = "unionhub.locker.collected.v1"
ISSUE_REPORTED = "unionhub.issue.reported.v1"

SCHEMAS = {
    STATION_OPENED: StationOpenedV1,
    STATION_CLOSED: StationClosedV1,
    SHIFT_STARTED: ShiftStartedV1,
    SHIFT_COMPLETED: ShiftCompletedV1,
    SHIFT_MISSED: ShiftMissedV1,
    LOCKER_DEPOSITED: LockerDepositedV1,
    LOCKER_COLLECTED: LockerCollectedV1,
    ISSUE_REPORTED: IssueReportedV1,
}
