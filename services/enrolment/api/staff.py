"""Staff accounts: admins of a unit, merchant till staff, station coordinators."""

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import ADMIN, principal, require
from services.common.idempotency import HEADER, HEADER_DOC, IdempotentRequest
from services.common.views import unit_of_work

from .. import accounts, queries, tables
from .. import schemas as s
from .context import admin_units, enrolment

blp = Blueprint("staff", __name__, url_prefix="/api/v1/staff", description="Staff accounts")


@blp.route("")
class Staff(MethodView):
    @require(ADMIN)
    @blp.arguments(s.StaffQuery, location="query")
    @blp.response(200, s.StaffOut(many=True))
    def get(self, query):
        """Staff accounts of the admin's subtree, optionally of one role"""
        with unit_of_work().read_only() as uow:
            return queries.staff(uow.connection, admin_units(), role=query["role"])

    @require(ADMIN)
    @blp.arguments(s.StaffIn)
    @blp.response(201, s.IdOut)
    @blp.doc(parameters=[HEADER_DOC])
    def post(self, body):
        """Create a staff account: an admin of a unit, merchant till staff, or a station coordinator"""
        actor = principal().subject
        idempotent = IdempotentRequest.of(
            tables.idempotency_keys,
            f"{actor}:create-staff",
            request.headers.get(HEADER),
            body,
            secret=enrolment().secrets.idempotency_key,
        )
        return {"id": accounts.create_staff(unit_of_work(), admin_units(), idempotent, actor=actor, **body)}
