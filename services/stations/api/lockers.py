"""Lockers: deposit for a pickup code, pick up with it; what was left at closing."""

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import ADMIN, COORDINATOR, MEMBER, principal, require
from services.common.idempotency import HEADER, HEADER_DOC, IdempotentRequest
from services.common.views import no_store, unit_of_work

from .. import lockers, queries, service, tables
from ..schemas import lockers as s
from .context import member_id, redis, stations

blp = Blueprint("lockers", __name__, url_prefix="/api/v1", description="Station lockers")


@blp.route("/stations/<station_id>/lockers/deposits")
class Deposits(MethodView):
    @require(MEMBER)
    @blp.arguments(s.DepositIn)
    @blp.doc(parameters=[HEADER_DOC])
    @blp.response(201, s.DepositOut)
    def post(self, body, station_id):
        """Put items in a locker (a free one unless locker_no is given); answers the pickup code"""
        ext = stations()
        idempotent = IdempotentRequest.of(
            tables.idempotency_keys,
            f"{member_id()}:locker-deposit",
            request.headers.get(HEADER),
            {"station_id": station_id, **body},
            secret=ext.idempotency_secret,
        )
        answer = lockers.deposit(
            unit_of_work(), ext.pickup_key, idempotent, member_id(), station_id, body["locker_no"]
        )
        return no_store(s.DepositOut().dump(answer), 201)


@blp.route("/stations/<station_id>/lockers/pickups")
class Pickups(MethodView):
    @require(MEMBER)
    @blp.arguments(s.PickupIn)
    @blp.response(200, s.PickupOut)
    def post(self, body, station_id):
        """Collect items with the pickup code; the locker is free again"""
        return lockers.pickup(
            unit_of_work(), redis(), stations().pickup_key, member_id(), station_id, body["pickup_code"]
        )


@blp.route("/stations/<station_id>/lockers/left-behind")
class LeftBehind(MethodView):
    @require(ADMIN, COORDINATOR)
    @blp.response(200, s.LeftBehindOut(many=True))
    def get(self, station_id):
        """Lockers still holding items after the station closed"""
        with unit_of_work().read_only() as uow:
            station = service.managed(uow.connection, station_id, principal())
            return queries.left_behind(uow.connection, station.id)
