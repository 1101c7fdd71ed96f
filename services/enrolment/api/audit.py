"""The audit trail of personal-data reads and erasures."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import ADMIN, require
from services.common.views import unit_of_work

from .. import queries
from .. import schemas as s
from .context import admin_units

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Who read or erased personal data")


@blp.route("/audit")
class AuditLog(MethodView):
    @require(ADMIN)
    @blp.arguments(s.AuditQuery, location="query")
    @blp.response(200, s.AuditOut(many=True))
    def get(self, query):
        """Audit trail of personal-data reads, exports and erasures in the admin's subtree, or one member's"""
        with unit_of_work().read_only() as uow:
            return queries.audit_trail(uow.connection, admin_units(), query["member_id"])
