"""Stations: registering them, the public finder and live status, coordinators, the check-in poster,
stats."""

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser

from schemas.http import PosterArgs
from services.common import qr
from services.common.auth import ADMIN, COORDINATOR, MEMBER, bearer_token, principal, require
from services.common.clock import local_day, now
from services.common.domain import Invalid
from services.common.views import unit_of_work

from .. import finder, finder_query, queries, repository, service
from ..model import check_amenities, may_manage
from ..schemas import stations as s
from .context import member_id, redis, stations

# One instance: given the class, webargs would build a new schema for every request.
FINDER_ARGS = s.FinderArgs()
_plain_finder_args = finder_query.compile_query(FINDER_ARGS)


class _Parser(FlaskParser):
    """webargs' parser, except that the finder's query is first read by a loader compiled from
    FinderArgs (finder_query): the schema itself loads only what that loader does not take plainly,
    so a bad query gets FinderArgs' own 422. @blp.arguments still documents FinderArgs."""

    def parse(self, argmap, req=None, **kwargs):
        if argmap is FINDER_ARGS:
            loaded = _plain_finder_args(request.args)
            if loaded is not None:
                return loaded
        return super().parse(argmap, req, **kwargs)


blp = Blueprint("stations", __name__, url_prefix="/api/v1", description="Courier rest stations")
blp.ARGUMENTS_PARSER = _Parser()  # flask-smorest's hook for a blueprint's own parser


def station_out(station) -> dict:
    return {**station.__dict__, "live": finder.live_status(station)}


@blp.route("/stations")
class Stations(MethodView):
    @blp.arguments(FINDER_ARGS, location="query")
    @blp.response(200, s.FoundOut(many=True))
    def get(self, args):
        """Stations near a place, nearest first, filtered by amenity and open now (public)"""
        limit = stations().settings.finder_max_radius_m
        if args["radius_m"] > limit:
            raise Invalid("finder.radius_too_large", field="radius_m", limit=limit)
        amenities = check_amenities(args["amenity"], "amenity") if args["amenity"] else []
        query = finder.Search(
            args["lat"], args["lng"], args["radius_m"], tuple(amenities), args["open_now"], args["limit"]
        )
        # The finder answers its stored cards already in FoundOut's shape; a Response passes through
        # @blp.response undumped, which still documents the schema.
        return Response(finder.search(redis(), query), mimetype="application/json")

    @require(ADMIN, COORDINATOR)
    @blp.arguments(s.StationIn)
    @blp.response(201, s.Created)
    def post(self, body):
        """Register a station: an admin's of a branch in their subtree, a coordinator's of a branch their
        registration grant covers (they are assigned to it)"""
        station = service.create_station(
            unit_of_work(), redis(), stations().units, principal(), token=bearer_token(), **body
        )
        return {"id": station.id}


@blp.route("/stations/<station_id>")
class StationDetail(MethodView):
    @blp.response(200, s.PublicStationOut)
    def get(self, station_id):
        """One station and its live status: open or closed, the duty group on duty, last update (public)"""
        return station_out(service.public_station(unit_of_work(), station_id))

    @require(ADMIN, COORDINATOR)
    @blp.arguments(s.StationPatch)
    @blp.response(200, s.StationOut)
    def patch(self, body, station_id):
        """Change a station's details, amenities, opening hours or lockers"""
        return station_out(service.update_station(unit_of_work(), redis(), principal(), station_id, body))


@blp.route("/stations/managed")
class StationsManaged(MethodView):
    @require(ADMIN, COORDINATOR)
    @blp.response(200, s.StationOut(many=True))
    def get(self):
        """The stations the caller runs: an admin's subtree, a coordinator's assignments (console lists)"""
        who = principal()
        with unit_of_work().read_only() as uow:
            found = repository.all_stations(uow.connection)
        return [station_out(x) for x in sorted(found, key=lambda x: x.name) if may_manage(x, who)]


@blp.route("/stations/<station_id>/manage")
class StationManaged(MethodView):
    @require(ADMIN, COORDINATOR)
    @blp.response(200, s.StationOut)
    def get(self, station_id):
        """A station as those who run it see it: coordinators and the poster's generation"""
        return station_out(service.station_for(unit_of_work(), principal(), station_id))


@blp.route("/stations/<station_id>/coordinators")
class Coordinators(MethodView):
    @require(ADMIN)
    @blp.arguments(s.CoordinatorIn)
    @blp.response(201, s.StationOut)
    def post(self, body, station_id):
        """Assign a coordinator (a staff account) to the station"""
        station = service.assign_coordinator(
            unit_of_work(), principal(), station_id, body["staff_id"], actor=principal().subject
        )
        return station_out(service.station_for(unit_of_work(), principal(), station.id))


@blp.route("/stations/<station_id>/coordinators/<staff_id>")
class Coordinator(MethodView):
    @require(ADMIN)
    @blp.response(204)
    def delete(self, station_id, staff_id):
        """Take a coordinator off the station"""
        service.unassign_coordinator(unit_of_work(), principal(), station_id, staff_id)


@blp.route("/stations/<station_id>/qr.png")
class StationQr(MethodView):
    @require(ADMIN, COORDINATOR)
    @blp.arguments(PosterArgs, location="query")
    @blp.response(200, content_type="image/png")
    def get(self, args, station_id):
        """The station's check-in poster QR (PNG), signed with its current generation"""
        station = service.station_for(unit_of_work(), principal(), station_id)
        code = service.poster_code(stations().signer, station)
        response = Response(qr.qr_png(code, scale=args["scale"]), mimetype="image/png")
        response.headers["Cache-Control"] = "private, no-store"
        return response


@blp.route("/stations/<station_id>/qr/revoke")
class StationQrRevoke(MethodView):
    @require(ADMIN, COORDINATOR)
    @blp.response(200, s.StationOut)
    def post(self, station_id):
        """Withdraw the printed poster: its code stops working; print the new one"""
        return station_out(service.revoke_poster(unit_of_work(), principal(), station_id))


@blp.route("/stations/visits")
class Visits(MethodView):
    @require(MEMBER)
    @blp.arguments(s.VisitIn)
    @blp.response(201, s.VisitOut)
    def post(self, body):
        """A courier scanned the station's poster on arrival: a visit (counted once a day)"""
        station, counted = service.visit(unit_of_work(), stations().signer, member_id(), body["station_code"])
        return {"station_id": station.id, "counted": counted}


@blp.route("/stations/<station_id>/stats")
class Stats(MethodView):
    @require(ADMIN, COORDINATOR)
    @blp.arguments(s.RangeArgs, location="query")
    @blp.response(200, s.StatsOut)
    def get(self, args, station_id):
        """Visits per day, duty coverage (done over scheduled) and open hours delivered"""
        at = now()
        last = args["end"] or local_day(at)
        first = args["start"] or last.replace(day=1)
        if first > last or (last - first).days > 366:
            raise Invalid("invalid", field="from")
        with unit_of_work().read_only() as uow:
            station = service.managed(uow.connection, station_id, principal())
            return queries.stats(uow.connection, station.id, first, last, at)
