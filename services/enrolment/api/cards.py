"""The till's side of the member card: a scanned code is accepted once, for an active member.

Enrolment checks codes as any till does, with the published public keys (its own, so no fetch) and
the used-nonce key every service that redeems card codes shares (services/common/card_codes.py).
"""

import time

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common import card_codes, ratelimit
from services.common.auth import TILL, principal, require
from services.common.views import context, unit_of_work

from .. import keys, membership
from .. import schemas as s
from .context import enrolment

blp = Blueprint("cards", __name__, url_prefix="/api/v1", description="Member card codes at the till")


@blp.route("/card-tokens/redeem")
class CardRedeem(MethodView):
    @require(TILL)
    @blp.arguments(s.CardRedeemIn)
    @blp.response(200, s.CardRedeemOut)
    def post(self, body):
        """Accept a scanned member card code once; refuse members who are not active"""
        limit = enrolment().settings.redeem_limit_per_minute
        ratelimit.hit(context().redis, keys.card_redeems(principal().subject), limit=limit, window_seconds=60)
        member = membership.redeem_card(
            unit_of_work(),
            body["token"],
            keys=enrolment().cards.public_keys,
            at=int(time.time()),
            used=card_codes.RedisUsedTokens(context().redis),
        )
        return {
            "member_id": member.id,
            "card_no": member.card_no,
            "status": member.status,
            "branch_id": member.unit_id,
        }
