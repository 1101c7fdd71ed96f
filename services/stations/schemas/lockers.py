"""Lockers: deposits, pick-ups, and items left behind at closing."""

from marshmallow import Schema, fields, validate

from schemas.fields import FullMatch
from schemas.http import Strict


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
    pickup_code = fields.String(required=True, validate=FullMatch(r"^[0-9]{6}$", error="locker.code_invalid"))


class PickupOut(Schema):
    id = fields.String()
    locker_no = fields.Integer()
    collected_at = fields.DateTime()


class LeftBehindOut(Schema):
    id = fields.String()
    locker_no = fields.Integer()
    deposited_at = fields.DateTime()
    flagged_at = fields.DateTime()
