"""Offers, and offers near a member."""

from marshmallow import Schema, fields, validate

from schemas.fields import Day, Moment, MoneyFen
from schemas.http import Strict

from ..model import BUDGET_KINDS, KINDS, PERIODS
from .fields import BUDGET, HHMM, NAME, SALE_FEN


class OfferIn(Strict):
    merchant_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(required=True, validate=NAME)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    percent_off = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=100)
    )
    cap_fen = MoneyFen(load_default=None, allow_none=True, validate=SALE_FEN)
    steps = fields.List(
        fields.Tuple((MoneyFen(validate=SALE_FEN), MoneyFen(validate=SALE_FEN))),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=20),
        metadata={"description": "满减 steps, [[threshold_fen, off_fen], ...]: 满100减10, 满200减25"},
    )
    fixed_fen = MoneyFen(load_default=None, allow_none=True, validate=SALE_FEN)
    starts_at = Moment(required=True)
    ends_at = Moment(required=True)
    weekdays = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=7)),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=7),
        metadata={"description": "ISO weekdays, 1 = Monday"},
    )
    hours_from = fields.String(load_default=None, allow_none=True, validate=HHMM)
    hours_to = fields.String(load_default=None, allow_none=True, validate=HHMM)
    benefit_weeks = fields.List(
        fields.Tuple((Day(), Day())),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=52),
        metadata={"description": "[[first_day, last_day], ...] (普惠周)"},
    )
    member_limit = fields.Integer(
        load_default=None, allow_none=True, strict=True, validate=validate.Range(min=1, max=10_000)
    )
    limit_period = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PERIODS))
    budget_kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(BUDGET_KINDS))
    budget_total = fields.Integer(load_default=None, allow_none=True, strict=True, validate=BUDGET)


class OfferOut(Schema):
    id = fields.String()
    merchant_id = fields.String()
    title = fields.String()
    kind = fields.String()
    budget_remaining = fields.Integer(allow_none=True)


class NearbyQuery(Strict):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    radius_m = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=50_000))


class NearbyOfferOut(Schema):
    id = fields.String()
    title = fields.String()
    kind = fields.String()
    percent_off = fields.Integer(allow_none=True)
    cap_fen = fields.Integer(allow_none=True)
    steps = fields.List(fields.List(fields.Integer()), allow_none=True)
    fixed_fen = fields.Integer(allow_none=True)
    merchant_id = fields.String()
    merchant_name = fields.String()
    category = fields.String()
    store_id = fields.String()
    store_name = fields.String()
    address = fields.String(allow_none=True)
    distance_m = fields.Integer()
