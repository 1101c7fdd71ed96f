"""The tree of union units: federation, city and industry unions, grassroots branches."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import ADMIN, require
from services.common.views import unit_of_work

from .. import queries, service
from .. import schemas as s
from ..model import Unit
from .context import admin_units

blp = Blueprint("branches", __name__, url_prefix="/api/v1/branches", description="The tree of union units")


def unit_out(unit: Unit) -> dict:
    return {
        "id": unit.id,
        "name": unit.name,
        "kind": unit.kind,
        "parent_id": unit.parent_id,
        "requires_approval": unit.requires_approval,
        "path": unit.ancestry,
    }


@blp.route("")
class Units(MethodView):
    @require(ADMIN)
    @blp.response(200, s.UnitOut(many=True))
    def get(self):
        """Units in the admin's subtree"""
        with unit_of_work().read_only() as uow:
            return [unit_out(u) for u in queries.units(uow.connection, admin_units())]

    @require(ADMIN)
    @blp.arguments(s.UnitIn)
    @blp.response(201, s.UnitOut)
    def post(self, body):
        """Create a branch (or an intermediate union) under a unit the admin manages"""
        return unit_out(service.create_unit(unit_of_work(), admin_units(), **body))


@blp.route("/<unit_id>")
class UnitDetail(MethodView):
    @require(ADMIN)
    @blp.response(200, s.UnitOut)
    def get(self, unit_id):
        """One unit"""
        return unit_out(service.unit(unit_of_work(), admin_units(), unit_id))
