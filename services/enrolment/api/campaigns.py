"""QR enrolment campaigns: a branch's poster at a site, its QR code, and its funnel."""

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.http import PosterArgs
from services.common import qr
from services.common.auth import ADMIN, principal, require
from services.common.views import unit_of_work

from .. import queries, service
from .. import schemas as s
from ..model import Campaign
from .context import admin_units, funnel, join_url

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1", description="QR enrolment campaigns")


def campaign_out(c: Campaign) -> dict:
    return {**c.__dict__, "join_url": join_url(c.code)}


@blp.route("/campaigns")
class Campaigns(MethodView):
    @require(ADMIN)
    @blp.response(200, s.CampaignOut(many=True))
    def get(self):
        """Campaigns of the branches in the admin's subtree"""
        with unit_of_work().read_only() as uow:
            return [campaign_out(c) for c in queries.campaigns(uow.connection, admin_units())]

    @require(ADMIN)
    @blp.arguments(s.CampaignIn)
    @blp.response(201, s.CampaignOut)
    def post(self, body):
        """Create an enrolment campaign for a branch and a site; its QR poster leads to join_url"""
        campaign = service.create_campaign(unit_of_work(), admin_units(), actor=principal().subject, **body)
        return campaign_out(campaign)


@blp.route("/campaigns/<campaign_id>")
class CampaignDetail(MethodView):
    @require(ADMIN)
    @blp.response(200, s.CampaignOut)
    def get(self, campaign_id):
        """One campaign"""
        return campaign_out(service.campaign(unit_of_work(), admin_units(), campaign_id))


@blp.route("/campaigns/<campaign_id>/revoke")
class CampaignRevoke(MethodView):
    @require(ADMIN)
    @blp.response(200, s.CampaignOut)
    def post(self, campaign_id):
        """Revoke a campaign: its QR code stops working (410)"""
        return campaign_out(service.revoke_campaign(unit_of_work(), admin_units(), campaign_id))


def _poster(campaign_id: str, render, mimetype: str) -> Response:
    campaign = service.campaign_for_poster(unit_of_work(), admin_units(), campaign_id)
    response = Response(render(join_url(campaign.code)), mimetype=mimetype)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@blp.route("/campaigns/<campaign_id>/qr.png")
class CampaignQrPng(MethodView):
    @require(ADMIN)
    @blp.arguments(PosterArgs, location="query")
    @blp.response(200, content_type="image/png")
    def get(self, args, campaign_id):
        """The poster's QR code as PNG"""
        return _poster(campaign_id, lambda url: qr.qr_png(url, scale=args["scale"]), "image/png")


@blp.route("/campaigns/<campaign_id>/qr.svg")
class CampaignQrSvg(MethodView):
    @require(ADMIN)
    @blp.response(200, content_type="image/svg+xml")
    def get(self, campaign_id):
        """The poster's QR code as SVG, for print"""
        return _poster(campaign_id, qr.qr_svg, "image/svg+xml")


@blp.route("/campaigns/<campaign_id>/stats")
class CampaignStats(MethodView):
    @require(ADMIN)
    @blp.response(200, s.StatsOut)
    def get(self, campaign_id):
        """The campaign's funnel by day: scans, joins started, joins and conversion"""
        return service.campaign_stats(unit_of_work(), funnel(), admin_units(), campaign_id)
