"""On duty: check in by scanning the station's poster, log duty entries, check out."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import MEMBER, require
from services.common.clock import now
from services.common.errors import Problem
from services.common.views import unit_of_work

from .. import queries, shifts
from ..schemas import shifts as s
from .context import member_id, redis, stations

blp = Blueprint("shifts", __name__, url_prefix="/api/v1", description="Duty shifts")


@blp.route("/shifts/checkin")
class Checkin(MethodView):
    @require(MEMBER)
    @blp.arguments(s.CheckinIn)
    @blp.response(201, s.ShiftCreated)
    def post(self, body):
        """Check in for your duty with the station's poster code; the station opens"""
        ext = stations()
        return {
            "shift_id": shifts.check_in(
                unit_of_work(), redis(), ext.signer, ext.settings, member_id(), **body
            )
        }


@blp.route("/shifts/me")
class MyShift(MethodView):
    @require(MEMBER)
    @blp.response(200, s.OpenShiftOut)
    @blp.alt_response(404, response="NOT_FOUND")  # problem+json shift.none_open: no shift of yours is open
    def get(self):
        """Your open shift, with its station and duty log (404 when you are not on duty)"""
        with unit_of_work().read_only() as uow:
            found = queries.open_shift(uow.connection, member_id())
        if found is None:
            raise Problem(404, "shift.none_open")
        return found


@blp.route("/shifts/<shift_id>/log")
class ShiftLog(MethodView):
    @require(MEMBER)
    @blp.arguments(s.LogIn)
    @blp.response(201, s.LogOut)
    def post(self, body, shift_id):
        """Log a duty entry: lights or AC on/off, cleaning, a note"""
        entry_id = shifts.log_entry(unit_of_work(), member_id(), shift_id, **body)
        return {"id": entry_id, **body, "at": now()}


@blp.route("/shifts/<shift_id>/checkout")
class Checkout(MethodView):
    @require(MEMBER)
    @blp.response(200, s.CheckoutOut)
    def post(self, shift_id):
        """End your shift; the station closes when nobody else is on duty"""
        return shifts.check_out(unit_of_work(), redis(), stations().settings, member_id(), shift_id)
