"""The caller's X-Request-ID comes back and correlates the logs, only when it is a plain id."""

import pytest
from flask import Flask
from werkzeug.test import EnvironBuilder, run_wsgi_app

from services.common.observability import install_request_context


@pytest.fixture
def app():
    app = Flask(__name__)
    install_request_context(app, "test")
    app.add_url_rule("/ping", "ping", lambda: "pong")
    return app


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [("req-42", True), ("req-42\n", False), ("x" * 65, False), ("a b", False)],
    ids=["plain", "a trailing newline", "too long", "a space"],
)
def test_only_a_plain_request_id_comes_back(app, sent, echoed):
    environ = EnvironBuilder(path="/ping").get_environ()
    environ["HTTP_X_REQUEST_ID"] = sent  # as a WSGI server could pass it, past the test client's checks

    _body, status, headers = run_wsgi_app(app, environ)

    assert status == "200 OK"
    assert (headers["X-Request-ID"] == sent) is echoed
    assert len(headers["X-Request-ID"]) == (len(sent) if echoed else 16)
