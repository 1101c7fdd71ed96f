"""benefits topic, keyed by member_id; budget.exhausted, which concerns no member, by merchant_id.
Money is integer fen."""

from marshmallow import fields, validate

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


# Which budget ran out: the offer's (that offer stops applying) or the merchant's (every offer of
# the merchant does).
OFFER_BUDGET = "offer"
MERCHANT_BUDGET = "merchant"


class BudgetExhaustedV1(EventPayload):
    offer_id = fields.String(required=True)  # the offer of the sale that spent the last of it
    merchant_id = fields.String(required=True)
    # Optional, so that events from before it was sent still load: those do not say which budget.
    budget = fields.String(
        allow_none=True, load_default=None, validate=validate.OneOf((OFFER_BUDGET, MERCHANT_BUDGET))
    )


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
