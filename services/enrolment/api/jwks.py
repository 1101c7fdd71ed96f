"""Enrolment's public keys: the token issuer's, which every other service verifies tokens with, and
the member card's, which tills check card codes with offline."""

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.card_codes import KEYS_PATH

from .context import enrolment

blp = Blueprint("jwks", __name__, description="The token issuer's and the member card's public keys")


def _cacheable(key_set: dict):
    response = current_app.response_class(current_app.json.dumps(key_set), mimetype="application/json")
    # Verifiers refetch when they meet an unknown key id, so a new key is seen before this expires.
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@blp.route("/.well-known/jwks.json")
class Jwks(MethodView):
    @blp.response(200)
    def get(self):
        """The public keys that verify UnionHub access tokens"""
        return _cacheable(enrolment().issuer.jwks())


@blp.route(KEYS_PATH)
class CardKeys(MethodView):
    @blp.response(200)
    def get(self):
        """The public keys that verify member card codes (kept apart from the token keys)"""
        return _cacheable(enrolment().cards.jwks())
