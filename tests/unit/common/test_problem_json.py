"""problem+json answers: stable codes, field errors, zh-CN by default and en on request."""

import psycopg
import pytest
from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields
from psycopg import errors as pg_errors
from sqlalchemy import exc as sql

from schemas.fields import CNMobile
from services.common import domain, i18n
from services.common.errors import register_error_handlers


class FormIn(Schema):
    name = fields.String(required=True)
    mobile = CNMobile(required=True)
    age = fields.Integer()


def _database_error(orig: Exception, **kwargs) -> sql.DBAPIError:
    """What SQLAlchemy raises for a driver's error in a statement."""
    return sql.DBAPIError.instance("INSERT INTO t VALUES (%(a)s)", {"a": 1}, orig, psycopg.Error, **kwargs)


DATABASE_ERRORS = {
    # A write sent to a primary a failover demoted: the database cannot take it now.
    "read_only": lambda: _database_error(pg_errors.ReadOnlySqlTransaction("read-only transaction")),
    "connection_lost": lambda: _database_error(pg_errors.InternalError("lost"), connection_invalidated=True),
    "unreachable": lambda: _database_error(pg_errors.ConnectionTimeout("timeout")),
    # A race or a bug, not an outage: retrying later would not help.
    "integrity": lambda: _database_error(pg_errors.UniqueViolation("duplicate key")),
}


@pytest.fixture
def client():
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="v1", OPENAPI_VERSION="3.1.0")
    api = Api(app)
    register_error_handlers(app)
    blp = Blueprint("t", __name__)

    @blp.route("/forms")
    class Forms(MethodView):
        @blp.arguments(FormIn)
        @blp.response(201)
        def post(self, body):
            return body

    @blp.route("/conflict")
    class Conflicting(MethodView):
        def post(self):
            raise domain.Conflict("conflict")

    @blp.route("/limited")
    class Limited(MethodView):
        def post(self):
            raise domain.RateLimited(retry_after=42)

    @blp.route("/boom")
    class Boom(MethodView):
        def get(self):
            raise RuntimeError("secret internals")

    @blp.route("/database/<kind>")
    class DatabaseError(MethodView):
        def post(self, kind):
            raise DATABASE_ERRORS[kind]()

    api.register_blueprint(blp)
    return app.test_client()


def test_bad_fields_answer_422_problem_json_with_one_entry_per_field(client):
    response = client.post("/forms", json={"mobile": "12345", "age": "x"}, headers={"Accept-Language": "en"})

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == 422 and body["code"] == "validation_failed"
    by_field = {e["field"]: e for e in body["errors"]}
    assert by_field["name"]["code"] == "required"
    assert by_field["mobile"]["code"] == "mobile.invalid"
    assert by_field["age"]["code"] == "invalid_type"
    assert by_field["name"]["message"] == "This field is required."


def test_messages_are_chinese_by_default_and_follow_accept_language(client):
    chinese = client.post("/forms", json={})
    english = client.post("/forms", json={}, headers={"Accept-Language": "en-US,en;q=0.9"})

    assert chinese.headers["Content-Language"] == "zh-CN"
    assert {e["message"] for e in chinese.json["errors"]} == {"此项为必填项"}
    assert english.headers["Content-Language"] == "en"
    assert {e["message"] for e in english.json["errors"]} == {"This field is required."}


def test_domain_errors_map_to_their_status_once(client):
    assert client.post("/conflict").status_code == 409
    limited = client.post("/limited")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "42"


def test_unexpected_errors_answer_500_without_internals(client):
    response = client.get("/boom")

    assert response.status_code == 500
    assert response.json["code"] == "internal_error"
    assert "secret" not in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["read_only", "connection_lost", "unreachable"])
def test_a_database_that_cannot_take_the_request_now_is_503_with_retry_after(client, kind):
    response = client.post(f"/database/{kind}")

    assert response.status_code == 503
    assert response.json["code"] == "service_unavailable" and response.headers["Retry-After"] == "5"


def test_a_database_error_that_is_not_an_outage_is_500(client):
    response = client.post("/database/integrity")

    assert response.status_code == 500 and "Retry-After" not in response.headers


def test_a_body_nested_a_thousand_deep_is_400_not_500(client):
    response = client.post("/forms", data="[" * 1000 + "]" * 1000, content_type="application/json")

    assert (response.status_code, response.mimetype) == (400, "application/problem+json")
    assert response.json["code"] == "bad_request"


def test_a_method_not_allowed_names_the_allowed_ones(client):
    response = client.delete("/forms")

    assert response.status_code == 405 and response.json["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}


def test_unknown_paths_answer_problem_json(client):
    response = client.get("/nowhere")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, "zh-CN"),
        ("en", "en"),
        ("zh-TW,en;q=0.5", "zh-CN"),
        ("fr-FR,en;q=0.8,zh;q=0.5", "en"),
        ("en;q=0.2,zh-CN;q=0.9", "zh-CN"),
        ("de", "zh-CN"),
    ],
)
def test_language_negotiation_honours_q_values(header, expected):
    assert i18n.negotiate(header) == expected


def test_every_message_has_both_languages():
    missing = [code for code, texts in i18n.MESSAGES.items() if set(texts) != {"zh-CN", "en"}]
    assert missing == []
