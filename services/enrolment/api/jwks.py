"""The token issuer's public keys, which every other service verifies tokens with."""

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from .context import enrolment

blp = Blueprint("jwks", __name__, description="The token issuer's public keys")


@blp.route("/.well-known/jwks.json")
class Jwks(MethodView):
    @blp.response(200)
    def get(self):
        """The public keys that verify UnionHub access tokens"""
        response = current_app.response_class(
            current_app.json.dumps(enrolment().issuer.jwks()), mimetype="application/json"
        )
        response.headers["Cache-Control"] = "public, max-age=300"
        return response
