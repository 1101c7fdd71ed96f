"""Offers: admins create them; members find them near where they are."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import ADMIN, principal, require
from services.common.clock import now
from services.common.views import unit_of_work

from .. import queries, service
from ..schemas import offers as s
from .context import merchants

blp = Blueprint("offers", __name__, url_prefix="/api/v1/offers", description="Discount offers")


@blp.route("")
class Offers(MethodView):
    @require()
    @blp.arguments(s.NearbyQuery, location="query")
    @blp.response(200, s.NearbyOfferOut(many=True))
    def get(self, query):
        """Offers valid now at open stores near a location, nearest first"""
        settings = merchants().settings
        with unit_of_work().read_only() as uow:
            return queries.nearby_offers(
                uow.connection,
                query["lat"],
                query["lng"],
                radius_m=query["radius_m"] or settings.nearby_radius_m,
                limit=settings.nearby_limit,
                at=now(),
            )

    @require(ADMIN)
    @blp.arguments(s.OfferIn)
    @blp.response(201, s.OfferOut)
    def post(self, body):
        """Create an offer: percent off (capped), stepped 满减 or a fixed amount, in a time window"""
        offer_id = service.create_offer(unit_of_work(), principal().units, **body)
        return {
            "id": offer_id,
            "merchant_id": body["merchant_id"],
            "title": body["title"],
            "kind": body["kind"],
            "budget_remaining": body.get("budget_total"),
        }
