"""Venues where courses run, and the staff who check people in there."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import ADMIN, require
from services.common.views import unit_of_work

from .. import queries, service
from .. import schemas as s
from .context import admin_units, branch_path

blp = Blueprint("venues", __name__, url_prefix="/api/v1/venues", description="Venues and their staff")


@blp.route("")
class Venues(MethodView):
    @require(ADMIN)
    @blp.response(200, s.VenueOut(many=True))
    def get(self):
        """Venues in the admin's subtree"""
        with unit_of_work().read_only() as uow:
            return queries.venues_in_scope(uow.connection, admin_units())

    @require(ADMIN)
    @blp.arguments(s.VenueIn)
    @blp.response(201, s.IdOut)
    def post(self, body):
        """Register a venue of a branch the admin manages"""
        return {
            "id": service.create_venue(unit_of_work(), branch_path=branch_path(body["branch_id"]), **body)
        }


@blp.route("/<venue_id>/staff")
class VenueStaff(MethodView):
    @require(ADMIN)
    @blp.arguments(s.StaffIn)
    @blp.response(201, s.AssignedOut)
    def post(self, body, venue_id):
        """Assign a staff account to check people in at this venue (every course held there)"""
        added = service.assign_venue_staff(unit_of_work(), admin_units(), venue_id, body["staff_id"])
        return {"staff_id": body["staff_id"], "added": added}
