"""HTTP request and response schemas of stations; the OpenAPI document is generated from them."""

from marshmallow import Schema, fields, validate

from schemas.fields import Latitude, Longitude
from schemas.http import IdOut as IdOut  # re-exported: the views answer creations with s.IdOut
from schemas.http import Strict

from .model import ISSUE_CATEGORIES, LOG_KINDS

_name = validate.Length(min=1, max=120)
# Redis GEO indexes latitudes within ±85.05112878° (Web Mercator); nowhere a courier rides is beyond.
_geo_lat = validate.Range(min=-85.05112878, max=85.05112878, error="geo.latitude")
_id = validate.Length(min=1, max=64)


class StationIn(Strict):
    name = fields.String(required=True, validate=_name)
    address = fields.String(required=True, validate=validate.Length(min=1, max=200))
    lat = Latitude(required=True, validate=_geo_lat)
    lng = Longitude(required=True)
    branch_id = fields.String(required=True, validate=_id)
    # Checked against the vocabulary by the use case, which names the unknown one.
    amenities = fields.List(
        fields.String(validate=validate.Length(max=32)), load_default=list, validate=validate.Length(max=20)
    )
    opening_hours = fields.String(required=True, validate=validate.Length(max=500))
    lockers = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=200))


class StationPatch(Strict):
    name = fields.String(validate=_name)
    address = fields.String(validate=validate.Length(min=1, max=200))
    lat = Latitude(validate=_geo_lat)
    lng = Longitude()
    amenities = fields.List(fields.String(validate=validate.Length(max=32)), validate=validate.Length(max=20))
    opening_hours = fields.String(validate=validate.Length(max=500))
    lockers = fields.Integer(strict=True, validate=validate.Range(min=0, max=200))


class Created(Schema):
    id = fields.String()


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
    lat = Latitude(required=True, validate=_geo_lat)
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
    staff_id = fields.String(required=True, validate=_id)


class GrantIn(Strict):
    staff_id = fields.String(required=True, validate=_id)  # a coordinator login's staff id
    branch_id = fields.String(required=True, validate=_id)


class GrantArgs(Strict):
    staff_id = fields.String(load_default=None, validate=_id)
    live = fields.Boolean(load_default=False)  # leave out revoked grants


class GrantOut(Schema):
    id = fields.String()
    staff_id = fields.String()
    branch_id = fields.String()
    branch_path = fields.List(fields.String())
    granted_by = fields.String()
    granted_at = fields.DateTime()
    revoked_by = fields.String(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class GroupIn(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    member_ids = fields.List(
        fields.String(validate=_id), required=True, validate=validate.Length(min=1, max=50)
    )


class GroupOut(Schema):
    id = fields.String()
    name = fields.String()
    member_ids = fields.List(fields.String())


class RotaIn(Strict):
    start = fields.Date(required=True)  # a Monday
    weeks = fields.Integer(load_default=4, strict=True, validate=validate.Range(min=1))
    group_ids = fields.List(fields.String(validate=_id), load_default=None, allow_none=True)


class RotaWeek(Schema):
    week = fields.String()
    starts = fields.Date()
    group_id = fields.String()


class RotaOut(Schema):
    station_id = fields.String()
    weeks = fields.List(fields.Nested(RotaWeek))
    duties = fields.Integer()


class RangeArgs(Strict):
    start = fields.Date(data_key="from", load_default=None)
    end = fields.Date(data_key="to", load_default=None)


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
    to_member_id = fields.String(required=True, validate=_id)


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


class IssueIn(Strict):
    category = fields.String(required=True, validate=validate.OneOf(ISSUE_CATEGORIES))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class IssueArgs(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(("open", "resolved")))


class IssueOut(Schema):
    id = fields.String()
    category = fields.String()
    note = fields.String(allow_none=True)
    status = fields.String()
    reported_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolution = fields.String(allow_none=True)


class ResolveIn(Strict):
    resolution = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class VisitIn(Strict):
    station_code = fields.String(required=True, validate=validate.Length(min=1, max=200))


class VisitOut(Schema):
    station_id = fields.String()
    counted = fields.Boolean()


class DepositIn(Strict):
    locker_no = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1)
    )


class DepositOut(Schema):
    id = fields.String()
    station_id = fields.String()
    locker_no = fields.Integer()
    pickup_code = fields.String()


class PickupIn(Strict):
    pickup_code = fields.String(
        required=True, validate=validate.Regexp(r"^\d{6}$", error="locker.code_invalid")
    )


class PickupOut(Schema):
    id = fields.String()
    locker_no = fields.Integer()
    collected_at = fields.DateTime()


class LeftBehindOut(Schema):
    id = fields.String()
    locker_no = fields.Integer()
    deposited_at = fields.DateTime()
    flagged_at = fields.DateTime()


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
