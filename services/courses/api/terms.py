"""Terms (期): each with its booking window and its dates."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import ADMIN, require
from services.common.clock import now
from services.common.views import unit_of_work

from .. import queries, service
from .. import schemas as s
from .context import admin_units, branch_path, courses

blp = Blueprint("terms", __name__, url_prefix="/api/v1/terms", description="Terms of courses")


@blp.route("")
class Terms(MethodView):
    @require()
    @blp.response(200, s.TermOut(many=True))
    def get(self):
        """Terms whose booking has not closed"""
        with unit_of_work().read_only() as uow:
            return queries.open_terms(uow.connection, now())

    @require(ADMIN)
    @blp.arguments(s.TermIn)
    @blp.response(201, s.IdOut)
    def post(self, body):
        """Create a term of a branch the admin manages, with its booking window"""
        if body["no_show_limit"] is None:
            body["no_show_limit"] = courses().settings.no_show_limit
        return {"id": service.create_term(unit_of_work(), branch_path=branch_path(body["branch_id"]), **body)}


@blp.route("/managed")
class ManagedTerms(MethodView):
    @require(ADMIN)
    @blp.response(200, s.TermOut(many=True))
    def get(self):
        """Every term in the admin's subtree, newest first"""
        with unit_of_work().read_only() as uow:
            return queries.terms_in_scope(uow.connection, admin_units())
