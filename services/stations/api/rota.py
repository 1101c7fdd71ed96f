"""Duty groups, the weekly rota and duty swaps."""

from datetime import timedelta

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import ADMIN, COORDINATOR, MEMBER, principal, require
from services.common.clock import local_day, now
from services.common.domain import Invalid
from services.common.views import unit_of_work

from .. import duty, queries, service
from ..schemas import rota as s
from .context import member_id, stations

blp = Blueprint("rota", __name__, url_prefix="/api/v1", description="Duty groups, rota and swaps")


@blp.route("/stations/<station_id>/duty-groups")
class Groups(MethodView):
    @require(ADMIN, COORDINATOR)
    @blp.arguments(s.GroupIn)
    @blp.response(201, s.Created)
    def post(self, body, station_id):
        """Form a volunteer duty group of active members"""
        return {"id": duty.create_group(unit_of_work(), principal(), station_id, **body)}

    @require(ADMIN, COORDINATOR)
    @blp.response(200, s.GroupOut(many=True))
    def get(self, station_id):
        """The station's duty groups"""
        with unit_of_work().read_only() as uow:
            station = service.managed(uow.connection, station_id, principal())
            return queries.groups(uow.connection, station.id)


@blp.route("/stations/<station_id>/rota")
class Rota(MethodView):
    @require(ADMIN, COORDINATOR)
    @blp.arguments(s.RotaIn)
    @blp.response(201, s.RotaOut)
    def post(self, body, station_id):
        """Generate the weekly rotation: groups take a week each, with open and close duties each day"""
        return duty.generate_rota(unit_of_work(), principal(), station_id, stations().settings, **body)


@blp.route("/stations/<station_id>/duties")
class Duties(MethodView):
    @require(ADMIN, COORDINATOR)
    @blp.arguments(s.RangeArgs, location="query")
    @blp.response(200, s.DutyOut(many=True))
    def get(self, args, station_id):
        """The rota's duties, flagged ones included (default: today and the next four weeks)"""
        first = args["start"] or local_day(now())
        last = args["end"] or first + timedelta(weeks=4)
        if first > last or (last - first).days > 120:
            raise Invalid("invalid", field="to")
        with unit_of_work().read_only() as uow:
            station = service.managed(uow.connection, station_id, principal())
            return queries.duties(uow.connection, station.id, first, last)


@blp.route("/stations/<station_id>/duties/<duty_id>/swaps")
class SwapRequest(MethodView):
    @require(MEMBER)
    @blp.arguments(s.SwapIn)
    @blp.response(201, s.Created)
    def post(self, body, station_id, duty_id):
        """Ask another volunteer to take one of your duties"""
        return {
            "id": duty.request_swap(unit_of_work(), member_id(), station_id, duty_id, body["to_member_id"])
        }


@blp.route("/stations/<station_id>/swaps")
class Swaps(MethodView):
    @require(ADMIN, COORDINATOR)
    @blp.response(200, s.SwapOut(many=True))
    def get(self, station_id):
        """Swap requests at the station, newest first"""
        with unit_of_work().read_only() as uow:
            station = service.managed(uow.connection, station_id, principal())
            return queries.swaps(uow.connection, station.id)


@blp.route("/stations/<station_id>/swaps/<swap_id>/accept")
class SwapAccept(MethodView):
    @require(MEMBER)
    @blp.response(204)
    def post(self, station_id, swap_id):
        """Accept a swap asked of you: the duty becomes yours"""
        duty.accept_swap(unit_of_work(), member_id(), station_id, swap_id)
