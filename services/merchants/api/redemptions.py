"""The till: redeem an offer (and a voucher) against a scanned member card, and refund it."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import TILL, require
from services.common.clock import local_day, now
from services.common.idempotency import HEADER_DOC
from services.common.views import unit_of_work

from .. import queries, reversal, till
from ..schemas import redemptions as s
from .context import idempotent, merchants, staff_id

blp = Blueprint(
    "redemptions", __name__, url_prefix="/api/v1/redemptions", description="Redemptions at the till"
)

# An instance, not the class: given a class, webargs builds the schema (deep-copying its fields) on
# every request, a fiftieth of a redemption's CPU at the till (docs/benchmarks.md).
SALE_IN = s.RedemptionIn()


def _rules() -> till.TillRules:
    m = merchants()
    return till.TillRules(
        cards=m.cards,
        max_bill_fen=m.settings.max_bill_fen,
        limit_per_minute=m.settings.redeem_limit_per_minute,
        wait_seconds=m.settings.idempotency_wait_seconds,
    )


@blp.route("")
class Redemptions(MethodView):
    @require(TILL)
    @blp.arguments(s.TillDayQuery, location="query")
    @blp.response(200, s.TillRedemptionOut(many=True))
    def get(self, query):
        """A store's redemptions of one day (default today, Asia/Shanghai), newest first, for its till"""
        with unit_of_work().read_only() as uow:
            return queries.till_day(
                uow.connection, staff_id(), query["store_id"], query["day"] or local_day(now())
            )

    @require(TILL)
    @blp.arguments(SALE_IN)
    @blp.response(201, s.RedemptionOut)
    @blp.doc(parameters=[{**HEADER_DOC, "required": True}])
    def post(self, body):
        """Redeem a member's discount and voucher at one of the till's stores (Idempotency-Key required)"""
        return till.redeem(
            unit_of_work(), _rules(), idempotent("redeem", body), till.Sale(staff_id(), **body)
        )


@blp.route("/<redemption_id>/reversal")
class Reversal(MethodView):
    @require(TILL)
    @blp.arguments(s.ReversalIn)
    @blp.response(201, s.ReversalOut)
    @blp.doc(parameters=[{**HEADER_DOC, "required": True}])
    def post(self, body, redemption_id):
        """Refund all (no amount) or part of a redemption's bill (Idempotency-Key required)"""
        request = idempotent("reverse", {**body, "redemption_id": redemption_id})
        return reversal.reverse(
            unit_of_work(),
            request,
            staff_id=staff_id(),
            redemption_id=redemption_id,
            amount_fen=body["amount_fen"],
        )


@blp.route("/stores")
class TillStores(MethodView):
    @require(TILL)
    @blp.response(200, s.TillStoreOut(many=True))
    def get(self):
        """The stores this till login serves, to pick one at the start of a shift"""
        with unit_of_work().read_only() as uow:
            return queries.till_stores(uow.connection, staff_id())


@blp.route("/quote")
class Quote(MethodView):
    @require(TILL)
    @blp.arguments(s.QuoteQuery, location="query")
    @blp.response(200, s.QuoteOut)
    def get(self, query):
        """The offer a bill would get at the store, before a card code is spent (member limits not applied)"""
        with unit_of_work().read_only() as uow:
            return queries.quote(uow.connection, staff_id(), query["store_id"], query["amount_fen"], now())

    @require(TILL)
    @blp.arguments(SALE_IN)
    @blp.response(200, s.MemberQuoteOut)
    def post(self, body):
        """What the member's sale would get, with their usable vouchers; spends nothing, not the card code"""
        # A POST, not a GET: the card code is a credential until spent and stays out of URLs and logs.
        return till.preview(unit_of_work(), _rules(), till.Sale(staff_id(), **body))
