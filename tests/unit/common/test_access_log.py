"""The access log of `unionhub serve` (services.common.observability.AccessLogger) writes the lines
gunicorn's own logger writes, for less CPU."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from services.cli import ACCESS_LOG_FORMAT
from services.common.observability import AccessLogger

# gunicorn's default format without the time (which may tick between the two loggers' lines), with
# the atoms of every other kind: environ, request and response headers, the durations, the pid.
EVERY_ATOM = (
    '%(h)s %(l)s %(u)s "%(r)s" %(s)s %(b)s %(B)s "%(f)s" "%(a)s" %(m)s %(U)s %(q)s %(H)s %(T)s %(D)s'
    " %(M)s %(L)s %(p)s %({x-request-id}i)s %({content-type}o)s %({raw_uri}e)s %({missing}i)s %(zz)s"
)


def request(uri: str):
    path, _, query = uri.partition("?")
    environ = {
        "REMOTE_ADDR": "10.0.0.7",
        "REQUEST_METHOD": "GET",
        "RAW_URI": uri,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_USER_AGENT": 'mini-app "1.2"',
    }
    req = SimpleNamespace(headers=[("HOST", "gw"), ("X-REQUEST-ID", 'gw-"7"')])
    resp = SimpleNamespace(
        status="422 UNPROCESSABLE ENTITY", sent=315, headers=[("Content-Type", "application/problem+json")]
    )
    return resp, req, environ, timedelta(seconds=1, microseconds=23456)


@pytest.mark.parametrize("log_format", [ACCESS_LOG_FORMAT, EVERY_ATOM])
@pytest.mark.parametrize(
    "uri", ["/api/v1/stations?lat=26.56&lng=106.69&amenity=water", '/a%20b?q=100%25&s=%(h)s&t=%s&u="']
)
def test_the_lines_are_gunicorns(tmp_path, log_format, uri):
    lines = {}
    for kind in (Logger, AccessLogger):
        cfg = Config()
        cfg.set("accesslog", str(tmp_path / f"{kind.__name__}.log"))
        cfg.set("access_log_format", log_format)
        logger = kind(cfg)
        logger.access(*request(uri))
        logger.access(*request(uri))
        for handler in logger.access_log.handlers:
            handler.close()
        lines[kind] = (tmp_path / f"{kind.__name__}.log").read_text().splitlines()
    assert len(lines[Logger]) == 2
    assert lines[AccessLogger] == lines[Logger]


@pytest.mark.parametrize("uri", ["/api/v1/join/x?a=\\", "/x?a=\\n%5B\x01", '/x?a=\\","status":200}\n{'])
def test_a_uri_or_header_with_backslashes_or_control_characters_keeps_the_line_one_json_object(tmp_path, uri):
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", ACCESS_LOG_FORMAT)
    logger = AccessLogger(cfg)
    resp, req, environ, took = request(uri)
    req.headers.append(("X-REQUEST-ID", "id\\\u2028\n"))

    logger.access(resp, req, environ, took)

    for handler in logger.access_log.handlers:
        handler.close()
    (line,) = (tmp_path / "access.log").read_text().splitlines()
    entry = json.loads(line)
    assert entry["request"] == f"GET {uri} HTTP/1.1" and entry["status"] == 422
    assert entry["request_id"] == "id\\\u2028\n"


def test_no_line_when_the_access_log_is_off(tmp_path, capsys):
    cfg = Config()
    cfg.set("access_log_format", ACCESS_LOG_FORMAT)  # no accesslog: gunicorn writes none
    AccessLogger(cfg).access(*request("/healthz"))
    assert capsys.readouterr() == ("", "")
