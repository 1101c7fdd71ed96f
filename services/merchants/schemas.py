"""HTTP request and response schemas of merchants; the OpenAPI document is generated from them."""

from marshmallow import Schema, fields, validate

from schemas.http import IdOut as IdOut  # re-exported: the views answer creations with s.IdOut
from schemas.http import Strict

from .model import BUDGET_KINDS, EXPIRED, KINDS, PERIODS, USABLE, USED

_name = validate.Length(min=1, max=120)
_fen = validate.Range(min=0, max=10**11)
_positive_fen = validate.Range(min=1, max=10**11)
_hhmm = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$")


class MerchantIn(Strict):
    name = fields.String(required=True, validate=_name)
    category = fields.String(required=True, validate=validate.Length(min=1, max=40))
    branch_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    union_share_percent = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=100),
        metadata={
            "description": "the part of each discount the union subsidises; 0: the merchant funds it all"
        },
    )
    budget_kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(BUDGET_KINDS))
    budget_total = fields.Integer(load_default=None, allow_none=True, validate=_positive_fen)


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
    name = fields.String(required=True, validate=_name)
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    open = fields.Boolean(load_default=True)
    opens_at = fields.String(load_default=None, allow_none=True, validate=_hhmm)
    closes_at = fields.String(load_default=None, allow_none=True, validate=_hhmm)


class StoreChangeIn(Strict):
    open = fields.Boolean()
    opens_at = fields.String(allow_none=True, validate=_hhmm)
    closes_at = fields.String(allow_none=True, validate=_hhmm)


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
    username = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.@-]{3,64}$"))
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


class OfferIn(Strict):
    merchant_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(required=True, validate=_name)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    percent_off = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=100))
    cap_fen = fields.Integer(load_default=None, allow_none=True, validate=_positive_fen)
    steps = fields.List(
        fields.Tuple((fields.Integer(validate=_positive_fen), fields.Integer(validate=_positive_fen))),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=20),
        metadata={"description": "满减 steps, [[threshold_fen, off_fen], ...]: 满100减10, 满200减25"},
    )
    fixed_fen = fields.Integer(load_default=None, allow_none=True, validate=_positive_fen)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    weekdays = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=7)),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=7),
        metadata={"description": "ISO weekdays, 1 = Monday"},
    )
    hours_from = fields.String(load_default=None, allow_none=True, validate=_hhmm)
    hours_to = fields.String(load_default=None, allow_none=True, validate=_hhmm)
    benefit_weeks = fields.List(
        fields.Tuple((fields.Date(), fields.Date())),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=52),
        metadata={"description": "[[first_day, last_day], ...] (普惠周)"},
    )
    member_limit = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=10_000)
    )
    limit_period = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(PERIODS))
    budget_kind = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(BUDGET_KINDS))
    budget_total = fields.Integer(load_default=None, allow_none=True, validate=_positive_fen)


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
    amount_fen = fields.Integer(load_default=None, allow_none=True, strict=True, validate=_positive_fen)


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


class StatementQuery(Strict):
    month = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class SummaryQuery(Strict):
    month = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$")
    )


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


class VoucherIn(Strict):
    member_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    value_fen = fields.Integer(required=True, strict=True, validate=_positive_fen)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=40))
    expires_at = fields.AwareDateTime(required=True)


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


# ---- the till page and the console's chart -------------------------------------------------------


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
    day = fields.Date(load_default=None, allow_none=True)


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


class DailyQuery(Strict):
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=92))


class DailyOut(Schema):
    day = fields.String()
    merchant_id = fields.String()
    merchant_name = fields.String()
    redemptions = fields.Integer()
    discount_fen = fields.Integer()
