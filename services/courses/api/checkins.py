"""Venue staff scanning tickets."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import ADMIN, VENUE, require
from services.common.views import unit_of_work

from .. import attendance
from .. import schemas as s
from .context import courses, staff

blp = Blueprint("checkins", __name__, url_prefix="/api/v1/checkins", description="Checking in with a ticket")


@blp.route("")
class Checkins(MethodView):
    @require(VENUE, ADMIN)
    @blp.arguments(s.CheckinIn)
    @blp.response(200, s.CheckinOut)
    def post(self, body):
        """Check a ticket in to the session now open (or the one named); a second scan is refused"""
        ctx = courses()
        return attendance.check_in(
            unit_of_work(),
            ctx.tickets,
            staff(),
            body["ticket_code"],
            session_id=body["session_id"],
            opens_minutes=ctx.settings.checkin_opens_minutes,
        )
