"""Merchants, their stores and till logins, for admins; monthly statements and union figures."""

import csv
import io
from datetime import timedelta

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import ADMIN, bearer_token, principal, require
from services.common.clock import local_day, now
from services.common.views import unit_of_work

from .. import queries, service, settlement
from ..schemas import merchants as s
from .context import merchants

blp = Blueprint(
    "merchants", __name__, url_prefix="/api/v1/merchants", description="Merchants and their stores"
)


@blp.route("")
class Merchants(MethodView):
    @require(ADMIN)
    @blp.response(200, s.MerchantOut(many=True))
    def get(self):
        """Merchants of the branches in the admin's subtree"""
        with unit_of_work().read_only() as uow:
            return queries.merchants(uow.connection, principal().units)

    @require(ADMIN)
    @blp.arguments(s.MerchantIn)
    @blp.response(201, s.IdOut)
    def post(self, body):
        """Sign up a merchant for a branch: its category, who funds discounts, its budget"""
        merchant_id = service.create_merchant(
            unit_of_work(), merchants().units, bearer_token(), actor=principal().subject, **body
        )
        return {"id": merchant_id}


@blp.route("/summary")
class Summary(MethodView):
    @require(ADMIN)
    @blp.arguments(s.SummaryQuery, location="query")
    @blp.response(200, s.SummaryOut)
    def get(self, query):
        """The figures unions publish: member spend, discount, and unique members who benefited"""
        with unit_of_work().read_only() as uow:
            return settlement.summary(uow.connection, principal().units, query["month"])


@blp.route("/daily")
class Daily(MethodView):
    @require(ADMIN)
    @blp.arguments(s.DailyQuery, location="query")
    @blp.response(200, s.DailyOut(many=True))
    def get(self, query):
        """Redemptions and discount per day and merchant over the last days (Asia/Shanghai), for charts"""
        last = local_day(now())
        with unit_of_work().read_only() as uow:
            return queries.daily(
                uow.connection, principal().units, last - timedelta(days=query["days"] - 1), last
            )


@blp.route("/<merchant_id>")
class Merchant(MethodView):
    @require(ADMIN)
    @blp.response(200, s.MerchantOut)
    def get(self, merchant_id):
        """One merchant"""
        with unit_of_work().read_only() as uow:
            return service.merchant_in_scope(uow.connection, merchant_id, principal().units)


@blp.route("/<merchant_id>/stores")
class Stores(MethodView):
    @require(ADMIN)
    @blp.response(200, s.StoreOut(many=True))
    def get(self, merchant_id):
        """The merchant's stores"""
        with unit_of_work().read_only() as uow:
            return queries.stores(uow.connection, principal().units, merchant_id)

    @require(ADMIN)
    @blp.arguments(s.StoreIn)
    @blp.response(201, s.StoreOut)
    def post(self, body, merchant_id):
        """Add a store: address, location, opening hours"""
        return service.add_store(unit_of_work(), principal().units, merchant_id, **body)


@blp.route("/<merchant_id>/stores/<store_id>")
class Store(MethodView):
    @require(ADMIN)
    @blp.arguments(s.StoreChangeIn)
    @blp.response(200, s.StoreOut)
    def patch(self, body, merchant_id, store_id):
        """Open or close a store for now, or change its hours"""
        return service.change_store(unit_of_work(), principal().units, merchant_id, store_id, **body)


@blp.route("/<merchant_id>/staff")
class Staff(MethodView):
    @require(ADMIN)
    @blp.arguments(s.StaffIn)
    @blp.response(201, s.StaffOut)
    def post(self, body, merchant_id):
        """Create a till login (enrolment issues it) serving some of the merchant's stores"""
        return service.add_till_staff(
            unit_of_work(), merchants().logins, bearer_token(), principal().units, merchant_id, **body
        )


@blp.route("/<merchant_id>/statement")
class Statement(MethodView):
    @require(ADMIN)
    @blp.arguments(s.StatementQuery, location="query")
    @blp.response(200, s.StatementOut)
    @blp.alt_response(200, content_type="text/csv", success=True, description="the same as CSV")
    def get(self, query, merchant_id):
        """The monthly settlement: count, gross, discount, union-subsidised part, net (JSON or CSV)"""
        with unit_of_work().read_only() as uow:
            found = settlement.statement(uow.connection, principal().units, merchant_id, query["month"])
        if query["format"] == "csv" or request.accept_mimetypes.best == "text/csv":
            return _csv(found)
        return found


def _csv(found: dict) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(settlement.STATEMENT_COLUMNS)
    for line in found["lines"]:
        writer.writerow([line[c] for c in settlement.STATEMENT_COLUMNS])
    totals = found["totals"]
    writer.writerow(
        [
            "total",
            totals["count"],
            totals["reversals"],
            found["month"],
            "",
            "",
            totals["gross_fen"],
            totals["discount_fen"],
            totals["subsidy_fen"],
            totals["net_fen"],
            totals["voucher_fen"],
        ]
    )
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="statement-{found["month"]}.csv"'
    return response
