"""Merchants, their stores and till staff; monthly statements, the published summary and the
console's daily chart."""

from marshmallow import Schema, fields, validate

from schemas.fields import FullMatch
from schemas.http import IdOut as IdOut  # re-exported: the views answer creations with s.IdOut
from schemas.http import Strict

from ..model import BUDGET_KINDS
from .fields import BUDGET, HHMM, MONTH, NAME


class MerchantIn(Strict):
    name = fields.String(required=True, validate=NAME)
    category = fields.String(required=True, validate=validate.Length(min=1, max=40))
    branch_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    union_share_percent = fields.Integer(
        load_default=0,
        strict=True,
        validate=validate.Range(min=0, max=100),
        metadata={
            "description": "the part of each discount the union subsidises; 0: the merchant funds it all"
        },
    )
    budget_kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(BUDGET_KINDS))
    budget_total = fields.Integer(load_default=None, allow_none=True, strict=True, validate=BUDGET)


class MerchantOut(Schema):
    id = fields.String()
    name = fields.String()
    category = fields.String()
    branch_id = fields.String()
    union_share_percent = fields.Integer()
    budget_kind = fields.String(allow_none=True)
    budget_total = fields.Integer(allow_none=True)
    budget_remaining = fields.Integer(allow_none=True)


class StoreIn(Strict):
    name = fields.String(required=True, validate=NAME)
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    open = fields.Boolean(load_default=True)
    opens_at = fields.String(load_default=None, allow_none=True, validate=HHMM)
    closes_at = fields.String(load_default=None, allow_none=True, validate=HHMM)


class StoreChangeIn(Strict):
    open = fields.Boolean()
    opens_at = fields.String(allow_none=True, validate=HHMM)
    closes_at = fields.String(allow_none=True, validate=HHMM)


class StoreOut(Schema):
    id = fields.String()
    merchant_id = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
    lat = fields.Float()
    lng = fields.Float()
    open = fields.Boolean()
    opens_at = fields.String(allow_none=True)
    closes_at = fields.String(allow_none=True)


class StaffIn(Strict):
    username = fields.String(required=True, validate=FullMatch(r"^[A-Za-z0-9_.@-]{3,64}$"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))
    store_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=100),
    )


class StaffOut(Schema):
    id = fields.String()
    username = fields.String()
    merchant_id = fields.String()
    store_ids = fields.List(fields.String())


class StatementQuery(Strict):
    month = fields.String(required=True, validate=MONTH)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class SummaryQuery(Strict):
    month = fields.String(load_default=None, allow_none=True, validate=MONTH)


class Totals(Schema):
    count = fields.Integer()
    reversals = fields.Integer()
    gross_fen = fields.Integer()
    discount_fen = fields.Integer()
    subsidy_fen = fields.Integer()
    net_fen = fields.Integer()
    voucher_fen = fields.Integer(metadata={"description": "vouchers' part of discount_fen and subsidy_fen"})


class StatementLine(Schema):
    kind = fields.String()
    id = fields.String()
    redemption_id = fields.String()
    at = fields.String()
    store_id = fields.String()
    offer_id = fields.String(allow_none=True)
    gross_fen = fields.Integer()
    discount_fen = fields.Integer()
    subsidy_fen = fields.Integer()
    net_fen = fields.Integer()
    voucher_fen = fields.Integer()


class StatementOut(Schema):
    merchant_id = fields.String()
    merchant_name = fields.String()
    month = fields.String()
    final = fields.Boolean(
        metadata={"description": "no sale or refund can still join it: from 00:05 after the month (Shanghai)"}
    )
    totals = fields.Nested(Totals)
    lines = fields.List(fields.Nested(StatementLine))


class SummaryOut(Schema):
    month = fields.String(allow_none=True)
    merchants = fields.Integer()
    redemptions = fields.Integer()
    total_spend_fen = fields.Integer()
    total_discount_fen = fields.Integer()
    total_subsidy_fen = fields.Integer()
    total_voucher_fen = fields.Integer(
        metadata={"description": "vouchers spent, part of discount and subsidy"}
    )
    unique_members = fields.Integer()


class DailyQuery(Strict):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=92))


class DailyOut(Schema):
    day = fields.String()
    merchant_id = fields.String()
    merchant_name = fields.String()
    redemptions = fields.Integer()
    discount_fen = fields.Integer()
