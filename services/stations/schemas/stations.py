"""Stations: registering and changing them, the finder, visits, and a station's figures."""

from marshmallow import Schema, fields, validate

from schemas.fields import Latitude, Longitude
from schemas.http import Strict

from .common import GEO_LAT, ID, NAME
from .common import Created as Created  # re-exported: the views use s.Created
from .common import RangeArgs as RangeArgs  # re-exported: the views use s.RangeArgs


class StationIn(Strict):
    name = fields.String(required=True, validate=NAME)
    address = fields.String(required=True, validate=validate.Length(min=1, max=200))
    lat = Latitude(required=True, validate=GEO_LAT)
    lng = Longitude(required=True)
    branch_id = fields.String(required=True, validate=ID)
    # Checked against the vocabulary by the use case, which names the unknown one.
    amenities = fields.List(
        fields.String(validate=validate.Length(max=32)), load_default=list, validate=validate.Length(max=20)
    )
    opening_hours = fields.String(required=True, validate=validate.Length(max=500))
    lockers = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=200))


class StationPatch(Strict):
    name = fields.String(validate=NAME)
    address = fields.String(validate=validate.Length(min=1, max=200))
    lat = Latitude(validate=GEO_LAT)
    lng = Longitude()
    amenities = fields.List(fields.String(validate=validate.Length(max=32)), validate=validate.Length(max=20))
    opening_hours = fields.String(validate=validate.Length(max=500))
    lockers = fields.Integer(strict=True, validate=validate.Range(min=0, max=200))


class LiveOut(Schema):
    status = fields.String()
    on_duty_group = fields.String(allow_none=True)
    updated_at = fields.String(allow_none=True)


class StationOut(Schema):
    id = fields.String()
    name = fields.String()
    address = fields.String()
    lat = fields.Float()
    lng = fields.Float()
    branch_id = fields.String()
    amenities = fields.List(fields.String())
    opening_hours = fields.String()
    lockers = fields.Integer()
    live = fields.Nested(LiveOut)
    coordinators = fields.List(fields.String())
    qr_generation = fields.Integer()


class FinderArgs(Strict):
    lat = Latitude(required=True, validate=GEO_LAT)
    lng = Longitude(required=True)
    radius_m = fields.Integer(load_default=5000, validate=validate.Range(min=1, error="range"))
    amenity = fields.List(
        fields.String(validate=validate.Length(max=32)), load_default=list, validate=validate.Length(max=10)
    )
    open_now = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


class FoundOut(Schema):
    id = fields.String()
    name = fields.String()
    address = fields.String()
    lat = fields.Float()
    lng = fields.Float()
    amenities = fields.List(fields.String())
    opening_hours = fields.String()
    open_now = fields.Boolean()
    distance_m = fields.Integer()
    live = fields.Nested(LiveOut)


class PublicStationOut(FoundOut):
    pass


class CoordinatorIn(Strict):
    staff_id = fields.String(required=True, validate=ID)


class VisitIn(Strict):
    station_code = fields.String(required=True, validate=validate.Length(min=1, max=200))


class VisitOut(Schema):
    station_id = fields.String()
    counted = fields.Boolean()


class StatsDay(Schema):
    day = fields.Date()
    visits = fields.Integer()
    duties_scheduled = fields.Integer()
    duties_done = fields.Integer()
    coverage = fields.Float(allow_none=True)
    open_hours = fields.Float()


class StatsOut(Schema):
    station_id = fields.String()
    start = fields.Date(data_key="from", attribute="from")
    end = fields.Date(data_key="to", attribute="to")
    visits = fields.Integer()
    coverage = fields.Float(allow_none=True)
    open_hours = fields.Float()
    days = fields.List(fields.Nested(StatsDay))
