"""Vouchers: a member's own, with what they have saved; admins grant them."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common import members
from services.common.auth import ADMIN, MEMBER, principal, require
from services.common.clock import now
from services.common.idempotency import HEADER_DOC
from services.common.views import caller_member_id, no_store, unit_of_work

from .. import queries, service, tables
from ..schemas import vouchers as s
from .context import idempotent

blp = Blueprint(
    "vouchers", __name__, url_prefix="/api/v1/vouchers", description="Member vouchers and savings"
)


@blp.route("/me")
class MyVouchers(MethodView):
    @require(MEMBER)
    @blp.response(200, s.MyVouchersOut)
    def get(self):
        """The member's vouchers, and how much their redemptions have saved them"""
        with unit_of_work().read_only() as uow:
            member = members.require_active(uow.connection, tables.members, caller_member_id())
            return no_store(
                s.MyVouchersOut().dump(queries.my_vouchers(uow.connection, member.member_id, now()))
            )


@blp.route("")
class Vouchers(MethodView):
    @require(ADMIN)
    @blp.arguments(s.VoucherIn)
    @blp.response(201, s.VoucherOut)
    @blp.doc(parameters=[{**HEADER_DOC, "required": True}])
    def post(self, body):
        """Grant a member of the admin's subtree a voucher with an expiry (Idempotency-Key required)"""
        return service.grant_voucher(
            unit_of_work(), principal().units, idempotent("voucher", body), actor=principal().subject, **body
        )
