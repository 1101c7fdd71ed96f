"""A member's bookings, tickets and registered children."""

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common import qr
from services.common.auth import MEMBER, require
from services.common.domain import NotFound
from services.common.views import no_store, unit_of_work

from .. import booking, queries, repository
from .. import schemas as s
from .context import courses, member_id

blp = Blueprint("bookings", __name__, url_prefix="/api/v1/bookings", description="Members' bookings")


@blp.route("/me")
class MyBookings(MethodView):
    @require(MEMBER)
    @blp.response(200, s.MyBookingOut(many=True))
    def get(self):
        """Your bookings, newest first: confirmed ones with their ticket, waitlisted ones with your place"""
        tickets = courses().tickets
        with unit_of_work().read_only() as uow:
            found = queries.my_bookings(uow.connection, member_id())
        for item in found:
            if item["status"] == "confirmed":
                item["ticket_code"] = booking.ticket(tickets, item["id"], item["course_id"])
        return no_store(s.MyBookingOut(many=True).dump(found))


@blp.route("/me/children")
class Children(MethodView):
    @require(MEMBER)
    @blp.response(200, s.ChildOut(many=True))
    def get(self):
        """Your registered children, for kids' courses"""
        with unit_of_work().read_only() as uow:
            return no_store(s.ChildOut(many=True).dump(queries.children(uow.connection, member_id())))

    @require(MEMBER)
    @blp.arguments(s.ChildIn)
    @blp.response(201, s.IdOut)
    def post(self, body):
        """Register a child (name and birth date) to book kids' courses for"""
        return {"id": booking.add_child(unit_of_work(), member_id(), **body)}


@blp.route("/<booking_id>")
class Booking(MethodView):
    @require(MEMBER)
    @blp.response(200, s.CancelledOut)
    def delete(self, booking_id):
        """Cancel a seat before the course's deadline (the waitlist's head gets it), or leave the waitlist"""
        booking.cancel(unit_of_work(), member_id(), booking_id)
        return {"id": booking_id, "status": "cancelled"}


@blp.route("/<booking_id>/ticket.png")
class TicketImage(MethodView):
    @require(MEMBER)
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="image/png")
    def get(self, booking_id):
        """Your ticket's QR code, to show at the venue"""
        with unit_of_work().read_only() as uow:
            found = repository.booking(uow.connection, booking_id)
        if found is None or found.member_id != member_id() or found.status != "confirmed":
            raise NotFound("booking.not_found")
        code = booking.ticket(courses().tickets, found.id, found.course_id)
        return Response(qr.qr_png(code), mimetype="image/png", headers={"Cache-Control": "no-store"})
