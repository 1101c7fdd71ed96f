"""Identity disputes: admins of the held membership's subtree list them and keep or move the membership."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import ADMIN, principal, require
from services.common.views import unit_of_work

from .. import disputes
from .. import schemas as s
from .context import admin_units, enrolment

blp = Blueprint(
    "disputes", __name__, url_prefix="/api/v1", description="Claims on a membership by a verified person"
)


@blp.route("/disputes")
class Disputes(MethodView):
    @require(ADMIN)
    @blp.arguments(s.DisputeListArgs, location="query")
    @blp.response(200, s.DisputeOut(many=True))
    def get(self, args):
        """Disputes over memberships in the admin's subtree, newest first"""
        with unit_of_work().read_only() as uow:
            return disputes.disputes(uow.connection, admin_units(), **args)


@blp.route("/disputes/<dispute_id>/resolve")
class DisputeResolve(MethodView):
    @require(ADMIN)
    @blp.arguments(s.DisputeResolveIn)
    @blp.response(200, s.DisputeResolvedOut)
    def post(self, body, dispute_id):
        """Keep the membership with its holder, or move it to the verified claimant (audited)"""
        return disputes.resolve(
            unit_of_work(), admin_units(), dispute_id, body["outcome"],
            actor=principal().subject, pii_keys=enrolment().pii_keys,
        )  # fmt: skip
