"""A duty shift: check-in at the station, its log, check-out."""

from marshmallow import Schema, fields, validate

from schemas.fields import Latitude, Longitude
from schemas.http import Strict

from ..model import LOG_KINDS


class CheckinIn(Strict):
    station_code = fields.String(required=True, validate=validate.Length(min=1, max=200))
    lat = Latitude(load_default=None, allow_none=True)
    lng = Longitude(load_default=None, allow_none=True)


class ShiftCreated(Schema):
    shift_id = fields.String()


class LogIn(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(LOG_KINDS))
    value = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("on", "off")))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class LogOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    value = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    at = fields.DateTime()


class OpenShiftOut(Schema):
    shift_id = fields.String()
    station_id = fields.String()
    station_name = fields.String()
    lockers = fields.Integer()
    started_at = fields.DateTime()
    log = fields.List(fields.Nested(LogOut))


class CheckoutOut(Schema):
    shift_id = fields.String()
    minutes = fields.Integer()
    station_status = fields.String()
