"""JSON calls to services outside UnionHub (WeChat, the identity provider) on every request path.

``requests.Session`` does per call what these calls never need: it merges cookies, hooks and the
environment's proxy and netrc settings (reading every environment variable each time) and follows
redirects. A join's identity check spent half of its client CPU there (docs/benchmarks.md,
"Request path"). This client keeps requests' transport (its HTTPAdapter: a pool of kept-alive
connections, TLS checks, requests' exceptions) and sends a request it prepares itself. What a
Session would take from the environment is taken once, as a process reads its settings at start:
the CA bundle (REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE) when the client is made, the proxy for a URL
(HTTP(S)_PROXY, NO_PROXY) at the first call to it. No .netrc: every call here names its credentials.
"""

from __future__ import annotations

import base64
import json
import os
from functools import lru_cache
from urllib.parse import urlencode

from requests.adapters import HTTPAdapter
from requests.models import PreparedRequest
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies

_HEADERS = {"Accept": "application/json", "User-Agent": "unionhub"}


@lru_cache(maxsize=64)
def _proxies(url: str) -> tuple[tuple[str, str], ...]:
    # A tuple, so the cached value cannot be changed by a caller; honours NO_PROXY for the URL.
    return tuple(sorted(get_environ_proxies(url).items()))


def basic_auth(user: str, password: str) -> str:
    """An Authorization header's value for HTTP Basic, made once instead of per call."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class JsonClient:
    """GET and POST of JSON over one pool of kept-alive connections (one client per process).

    Errors are requests' own: a connection refused, a certificate refused or a timeout raises a
    ``RequestException``, and so does a non-2xx answer (``HTTPError``); a body that is not JSON
    raises ``ValueError``. Redirects are not followed: an API that answers 3xx answers nothing usable.
    """

    def __init__(self, pool_size: int = 16) -> None:
        self._adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        # As Session.merge_environment_settings picks it: a bundle named there, else certifi's.
        self._verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True

    def get(self, url: str, params: dict, *, timeout: float) -> object:
        return self._send("GET", url, urlencode(params), None, {}, timeout)

    def post(self, url: str, body: dict, *, timeout: float, authorization: str | None = None) -> object:
        headers = {"Content-Type": "application/json"}
        if authorization:
            headers["Authorization"] = authorization
        payload = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
        return self._send("POST", url, "", payload, headers, timeout)

    def _send(
        self, method: str, url: str, query: str, body: bytes | None, headers: dict, timeout: float
    ) -> object:
        request = PreparedRequest()
        request.method = method
        request.url = f"{url}{'&' if '?' in url else '?'}{query}" if query else url
        request.headers = CaseInsensitiveDict({**_HEADERS, **headers})
        request.body = body
        if body is not None:
            request.headers["Content-Length"] = str(len(body))
        # The proxy by the URL without its query: the same for every call, and a query may carry a
        # secret (WeChat's), which a cache should not keep.
        proxies = dict(_proxies(url))
        response = self._adapter.send(request, timeout=timeout, verify=self._verify, proxies=proxies)
        # Read whole first, as a Session does: that hands the connection back to the pool, even
        # when the status is an error.
        content = response.content
        response.raise_for_status()
        return json.loads(content)
