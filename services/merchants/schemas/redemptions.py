"""Redemptions at the till, their reversals, and what the till page reads (its stores, a quote, its day)."""

from marshmallow import Schema, fields, validate

from schemas.fields import Day
from schemas.http import Strict

from .fields import SALE_FEN


class RedemptionIn(Strict):
    card_token = fields.String(required=True, validate=validate.Length(min=1, max=400))
    store_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    amount_fen = fields.Integer(required=True, strict=True)
    offer_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    voucher_id = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "one of the member's vouchers, spent on this bill after the offer"},
    )


class RedemptionOut(Schema):
    id = fields.String()
    merchant_id = fields.String()
    store_id = fields.String()
    offer_id = fields.String(allow_none=True, metadata={"description": "null: the voucher alone applied"})
    offer_title = fields.String(allow_none=True)
    member_id = fields.String()
    card_no = fields.String(allow_none=True)
    amount_fen = fields.Integer()
    discount_fen = fields.Integer(metadata={"description": "the offer's discount plus the voucher's part"})
    payable_fen = fields.Integer()
    subsidy_fen = fields.Integer()
    voucher_id = fields.String(allow_none=True)
    voucher_fen = fields.Integer(metadata={"description": "the part of discount_fen the voucher paid"})
    created_at = fields.String()


class ReversalIn(Strict):
    amount_fen = fields.Integer(load_default=None, allow_none=True, strict=True, validate=SALE_FEN)


class ReversalOut(Schema):
    id = fields.String()
    redemption_id = fields.String()
    amount_fen = fields.Integer()
    discount_fen = fields.Integer()
    subsidy_fen = fields.Integer()
    voucher_fen = fields.Integer(metadata={"description": "the voucher's share of discount_fen"})
    refunded_fen = fields.Integer()
    fully_reversed = fields.Boolean()
    voucher_returned = fields.Boolean(
        metadata={"description": "the member's voucher is usable again (a full refund, before its expiry)"}
    )
    created_at = fields.String()


class TillStoreOut(Schema):
    id = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
    open = fields.Boolean()
    merchant_id = fields.String()
    merchant_name = fields.String()


class QuoteQuery(Strict):
    store_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    amount_fen = fields.Integer(required=True, validate=validate.Range(min=1))  # from the query string


class QuoteOut(Schema):
    offer_id = fields.String(allow_none=True)
    offer_title = fields.String(allow_none=True)
    discount_fen = fields.Integer()
    payable_fen = fields.Integer()


class UsableVoucherOut(Schema):
    id = fields.String()
    value_fen = fields.Integer()
    reason = fields.String()
    expires_at = fields.DateTime()


class MemberQuoteOut(QuoteOut):
    card_no = fields.String(allow_none=True)
    amount_fen = fields.Integer()
    voucher_id = fields.String(allow_none=True)
    voucher_fen = fields.Integer(metadata={"description": "the part of discount_fen the voucher pays"})
    vouchers = fields.List(
        fields.Nested(UsableVoucherOut),
        metadata={"description": "the member's vouchers usable now, the one expiring first first"},
    )


class TillDayQuery(Strict):
    store_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    day = Day(load_default=None, allow_none=True)


class TillRedemptionOut(Schema):
    id = fields.String()
    offer_id = fields.String(allow_none=True)
    offer_title = fields.String(allow_none=True)
    amount_fen = fields.Integer()
    discount_fen = fields.Integer()
    voucher_fen = fields.Integer()
    payable_fen = fields.Integer()
    reversed_fen = fields.Integer()
    created_at = fields.DateTime()
