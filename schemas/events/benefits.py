"""benefits topic, keyed by member_id. Money is integer fen."""

from marshmallow import fields

from .base import EventPayload, MemberEvent


class RedemptionRedeemedV1(MemberEvent):
    redemption_id = fields.String(required=True)
    merchant_id = fields.String(required=True)
    store_id = fields.String(required=True)
    offer_id = fields.String(allow_none=True, load_default=None)
    amount_fen = fields.Integer(required=True, strict=True)
    discount_fen = fields.Integer(required=True, strict=True)
    payable_fen = fields.Integer(required=True, strict=True)
    # Optional, so that events from before vouchers were spendable still load.
    voucher_id = fields.String(allow_none=True, load_default=None)
    voucher_fen = fields.Integer(strict=True, load_default=0)


class RedemptionReversedV1(MemberEvent):
    redemption_id = fields.String(required=True)
    amount_fen = fields.Integer(required=True, strict=True)
    voucher_id = fields.String(allow_none=True, load_default=None)  # given back to the member


class VoucherGrantedV1(MemberEvent):
    voucher_id = fields.String(required=True)
    value_fen = fields.Integer(required=True, strict=True)
    reason = fields.String(required=True)


class BudgetExhaustedV1(EventPayload):
    offer_id = fields.String(required=True)
    merchant_id = fields.String(required=True)


# The event types of this topic, spelled here once; the catalogue, the services and the tests import them.
REDEEMED = "unionhub.redemption.redeemed.v1"
REVERSED = "unionhub.redemption.reversed.v1"
VOUCHER_GRANTED = "unionhub.voucher.granted.v1"
BUDGET_EXHAUSTED = "unionhub.budget.exhausted.v1"

SCHEMAS = {
    REDEEMED: RedemptionRedeemedV1,
    REVERSED: RedemptionReversedV1,
    VOUCHER_GRANTED: VoucherGrantedV1,
    BUDGET_EXHAUSTED: BudgetExhaustedV1,
}
