"""JSON logs carrying the request id, trace context, and Prometheus request metrics."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "unionhub_http_requests_total", "HTTP requests", ["service", "method", "endpoint", "status"]
)
LATENCY = Histogram(
    "unionhub_http_request_seconds",
    "HTTP request latency",
    ["service", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5),
)

_TRACEPARENT = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = getattr(g, "request_id", None)
            entry["correlation_id"] = getattr(g, "correlation_id", None)
            entry["traceparent"] = getattr(g, "traceparent", None)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("kafka").setLevel(logging.WARNING)


def new_traceparent(trace_id: str | None = None) -> str:
    return f"00-{trace_id or os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def current_traceparent() -> str | None:
    """The trace context to stamp on events recorded while serving this request."""
    return getattr(g, "traceparent", None) if has_request_context() else None


def install_request_context(app: Flask, service: str) -> None:
    # The per-request hooks run on every request, /healthz included: each proxy lookup (request,
    # g) and each labels() call showed in the profile, so each is done once and the metric
    # children are kept per label set.
    requests_by_labels: dict[tuple, object] = {}
    latency_by_endpoint: dict[str, object] = {}

    @app.before_request
    def _start():
        started = time.perf_counter()
        environ = request.environ
        ids = os.urandom(32).hex()  # one system call for the request id, trace id and span id
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        parent = environ.get("HTTP_TRACEPARENT", "")
        # Continue the caller's trace with a span of our own; start a trace when there is none.
        trace_id = parent[3:35] if _TRACEPARENT.fullmatch(parent) else ids[16:48]
        state = g._get_current_object()
        state.started = started
        # Our own id for this request, which audit rows carry: a client must not pick what the
        # audit trail says. The gateway's or caller's X-Request-ID is kept to correlate the logs.
        state.request_id = ids[:16]
        state.correlation_id = incoming if _REQUEST_ID.fullmatch(incoming) else state.request_id
        state.traceparent = f"00-{trace_id}-{ids[48:64]}-01"

    @app.after_request
    def _finish(response):
        state = g._get_current_object()
        response.headers["X-Request-ID"] = getattr(state, "correlation_id", "")
        req = request._get_current_object()
        endpoint = req.url_rule.rule if req.url_rule else "unmatched"
        key = (req.method, endpoint, response.status_code)
        counter = requests_by_labels.get(key)
        if counter is None:
            counter = requests_by_labels[key] = REQUESTS.labels(service, *key)
        counter.inc()
        started = getattr(state, "started", None)
        if started is not None:
            latency = latency_by_endpoint.get(endpoint)
            if latency is None:
                latency = latency_by_endpoint[endpoint] = LATENCY.labels(service, endpoint)
            latency.observe(time.perf_counter() - started)
        return response


_SIMPLE_ATOMS = {
    "h": lambda _log, env, _resp, _t: env.get("REMOTE_ADDR", "-"),
    "l": lambda _log, _env, _resp, _t: "-",
    "u": lambda log, env, _resp, _t: log._get_user(env) or "-",
    "t": lambda log, _env, _resp, _t: log.now(),
    "m": lambda _log, env, _resp, _t: env.get("REQUEST_METHOD"),
    "U": lambda _log, env, _resp, _t: env.get("PATH_INFO"),
    "q": lambda _log, env, _resp, _t: env.get("QUERY_STRING"),
    "H": lambda _log, env, _resp, _t: env.get("SERVER_PROTOCOL"),
    "b": lambda _log, _env, resp, _t: getattr(resp, "sent", None) is not None and str(resp.sent) or "-",
    "B": lambda _log, _env, resp, _t: getattr(resp, "sent", None),
    "f": lambda _log, env, _resp, _t: env.get("HTTP_REFERER", "-"),
    "a": lambda _log, env, _resp, _t: env.get("HTTP_USER_AGENT", "-"),
    "T": lambda _log, _env, _resp, t: t.seconds,
    "D": lambda _log, _env, _resp, t: t.seconds * 1000000 + t.microseconds,
    "M": lambda _log, _env, _resp, t: t.seconds * 1000 + int(t.microseconds / 1000),
    "L": lambda _log, _env, _resp, t: f"{t.seconds}.{t.microseconds:06d}",
    "p": lambda _log, _env, _resp, _t: f"<{os.getpid()}>",
}


class _Atoms(Mapping):
    """gunicorn's access-log atoms, each worked out only when the log format asks for it.

    gunicorn's own ``Logger.atoms`` builds every atom for every request: the time, each request
    and response header and each environ variable, then escapes them all. With our five-atom
    format that was an eighth of a worker's CPU on /healthz (docs/benchmarks.md, "Request path").
    The values are gunicorn's (``glogging.Logger.atoms``); their escaping is JSON's (``__getitem__``).
    """

    __slots__ = ("_logger", "_resp", "_req", "_environ", "_time")

    def __init__(self, logger, resp, req, environ, request_time):
        self._logger, self._resp, self._req = logger, resp, req
        self._environ, self._time = environ, request_time

    def _atom(self, key: str):
        environ, t, resp = self._environ, self._time, self._resp
        if key.startswith("{"):
            name, kind = key[1:-2].lower(), key[-1:]
            if kind == "e":
                pairs = environ.items()
            else:
                pairs = getattr(self._req, "headers", self._req) if kind == "i" else resp.headers
                pairs = pairs.items() if hasattr(pairs, "items") else pairs
            found = "-"
            for k, v in pairs:  # the last of repeated headers, as gunicorn's dict of atoms keeps
                if k.lower() == name:
                    found = v
            return found
        if key == "s":
            status = resp.status
            return status.split(None, 1)[0] if isinstance(status, str) else status
        if key == "r":
            return f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
        simple = _SIMPLE_ATOMS.get(key)
        return simple(self._logger, environ, resp, t) if simple else "-"

    def __getitem__(self, key: str):
        value = self._atom(key)
        # Escaped as a JSON string's inside, which gunicorn's quotes-only escaping is for the text
        # it usually holds: a URI or header with a backslash or a line separator must not break
        # the JSON line (services/cli.py ACCESS_LOG_FORMAT) or add one of the caller's making.
        return json.dumps(value)[1:-1] if isinstance(value, str) else value

    # logging formats with "%" and a mapping; these make it one (a non-empty one, as it requires).
    def __iter__(self):
        return iter(("r",))

    def __len__(self) -> int:
        return 1


def access_logger_class():
    """gunicorn's Logger with lazy atoms: ``gunicorn --logger-class
    services.common.observability.AccessLogger`` writes the same access lines for less CPU."""
    from gunicorn import glogging

    class AccessLogger(glogging.Logger):
        def access(self, resp, req, environ, request_time):
            log = self.access_log
            if not (self.access_log_enabled and log.isEnabledFor(logging.INFO)):
                return
            try:
                line = self.cfg.access_log_format % _Atoms(self, resp, req, environ, request_time)
                # Straight to the handlers: Logger.info would first walk the stack for the caller's
                # file and line, which no access line shows (a sixth of the line's CPU).
                log.handle(log.makeRecord(log.name, logging.INFO, __file__, 0, line, (), None))
            except Exception:
                self.error(traceback.format_exc())

    return AccessLogger


def __getattr__(name: str):
    # gunicorn resolves --logger-class by attribute; building the class on first use keeps
    # gunicorn out of the imports of processes that never serve HTTP (the event workers).
    if name == "AccessLogger":
        cls = globals()["AccessLogger"] = access_logger_class()
        return cls
    raise AttributeError(name)
