"""Vouchers the union grants members, and a member's own."""

from marshmallow import Schema, fields, validate

from schemas.fields import Moment
from schemas.http import Strict

from ..model import EXPIRED, USABLE, USED
from .fields import SALE_FEN


class VoucherIn(Strict):
    member_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    value_fen = fields.Integer(required=True, strict=True, validate=SALE_FEN)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=40))
    expires_at = Moment(required=True)


class VoucherOut(Schema):
    id = fields.String()
    member_id = fields.String()
    value_fen = fields.Integer()
    reason = fields.String()
    expires_at = fields.String()
    created_at = fields.String()
    expired = fields.Boolean()
    status = fields.String(
        validate=validate.OneOf([USABLE, USED, EXPIRED]),
        metadata={"description": "usable, used (spent at a till, even if since expired) or expired"},
    )
    used_at = fields.String(allow_none=True)


class MyVouchersOut(Schema):
    vouchers = fields.List(fields.Nested(VoucherOut))
    saved_fen = fields.Integer(
        metadata={"description": "what the member's redemptions took off, net of refunds"}
    )
    redemptions = fields.Integer()
