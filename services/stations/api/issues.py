"""Facility problems couriers report, which the station's coordinator sees and resolves."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import ADMIN, COORDINATOR, MEMBER, principal, require
from services.common.views import unit_of_work

from .. import queries, service
from ..schemas import issues as s
from .context import member_id

blp = Blueprint("issues", __name__, url_prefix="/api/v1", description="Facility problem reports")


@blp.route("/stations/<station_id>/issues")
class Issues(MethodView):
    @require(MEMBER)
    @blp.arguments(s.IssueIn)
    @blp.response(201, s.Created)
    def post(self, body, station_id):
        """Report a problem with the station's facilities"""
        return {"id": service.report_issue(unit_of_work(), member_id(), station_id, **body)}

    @require(ADMIN, COORDINATOR)
    @blp.arguments(s.IssueArgs, location="query")
    @blp.response(200, s.IssueOut(many=True))
    def get(self, args, station_id):
        """The station's problem reports, newest first"""
        with unit_of_work().read_only() as uow:
            station = service.managed(uow.connection, station_id, principal())
            return queries.issues(uow.connection, station.id, args["status"])


@blp.route("/stations/<station_id>/issues/<issue_id>/resolve")
class IssueResolve(MethodView):
    @require(ADMIN, COORDINATOR)
    @blp.arguments(s.ResolveIn)
    @blp.response(204)
    def post(self, body, station_id, issue_id):
        """Mark a problem resolved"""
        service.resolve_issue(unit_of_work(), principal(), station_id, issue_id, body["resolution"])
