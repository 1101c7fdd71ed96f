"""Duty groups, the weekly rota, duties and swaps."""

from marshmallow import Schema, fields, validate

from schemas.fields import Day
from schemas.http import Strict

from .common import ID
from .common import Created as Created  # re-exported: the views use s.Created
from .common import RangeArgs as RangeArgs  # re-exported: the views use s.RangeArgs


class GroupIn(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    member_ids = fields.List(
        fields.String(validate=ID), required=True, validate=validate.Length(min=1, max=50)
    )


class GroupOut(Schema):
    id = fields.String()
    name = fields.String()
    member_ids = fields.List(fields.String())


class RotaIn(Strict):
    start = Day(required=True)  # a Monday
    weeks = fields.Integer(load_default=4, strict=True, validate=validate.Range(min=1))
    group_ids = fields.List(fields.String(validate=ID), load_default=None, allow_none=True)


class RotaWeek(Schema):
    week = fields.String()
    starts = fields.Date()
    group_id = fields.String()


class RotaOut(Schema):
    station_id = fields.String()
    weeks = fields.List(fields.Nested(RotaWeek))
    duties = fields.Integer()


class DutyOut(Schema):
    id = fields.String()
    group_id = fields.String()
    group_name = fields.String()
    week = fields.String()
    day = fields.Date()
    kind = fields.String()
    at = fields.DateTime()
    member_id = fields.String(allow_none=True)
    status = fields.String()
    flagged = fields.String(allow_none=True)
    shift_id = fields.String(allow_none=True)


class SwapIn(Strict):
    to_member_id = fields.String(required=True, validate=ID)


class SwapOut(Schema):
    id = fields.String()
    duty_id = fields.String()
    from_member_id = fields.String()
    to_member_id = fields.String()
    status = fields.String()
    day = fields.Date()
    kind = fields.String()
    at = fields.DateTime()
    requested_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
