"""Registration grants: which coordinators may register stations under which branches."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import ADMIN, bearer_token, principal, require
from services.common.views import unit_of_work

from .. import registration
from ..schemas import registration as s
from .context import stations

blp = Blueprint(
    "registration-grants",
    __name__,
    url_prefix="/api/v1/stations/registration-grants",
    description="Coordinators' leave to register stations",
)


@blp.route("")
class Grants(MethodView):
    @require(ADMIN)
    @blp.arguments(s.GrantIn)
    @blp.response(201, s.GrantOut)
    @blp.alt_response(200, schema=s.GrantOut, description="The coordinator already holds this grant")
    def post(self, body):
        """Let a coordinator register stations under a branch of the admin's subtree and those below it"""
        found, made = registration.grant(
            unit_of_work(), stations().units, principal(), admin_token=bearer_token(), **body
        )
        return found, 201 if made else 200

    @require(ADMIN)
    @blp.arguments(s.GrantArgs, location="query")
    @blp.response(200, s.GrantOut(many=True))
    def get(self, args):
        """The grants of branches in the admin's subtree, newest first"""
        return registration.grants(
            unit_of_work(), principal(), staff_id=args["staff_id"], live_only=args["live"]
        )


@blp.route("/<grant_id>")
class Grant(MethodView):
    @require(ADMIN)
    @blp.response(204)
    def delete(self, grant_id):
        """Revoke a grant: the coordinator's registrations are refused from now on; the stations they
        registered keep them as coordinator"""
        registration.revoke(unit_of_work(), principal(), grant_id)
