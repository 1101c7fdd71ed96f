"""The JSON client for outside services, against a real HTTP server on loopback."""

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.common import outbound
from services.common.outbound import JsonClient, basic_auth


class Recorder(BaseHTTPRequestHandler):
    """Answers what ``server.answers`` holds for the path (status, body), and records each request
    with the client port it came from, so a test can tell a kept-alive connection from a new one."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers),
                "body": body,
                "port": self.client_address[1],
            }
        )
        status, payload = self.server.answers.get(self.path.split("?")[0], (404, b'{"error":"none"}'))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.seen, httpd.answers = [], {}
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)  # requests reads the lower-case one first
    outbound._proxies.cache_clear()
    yield
    outbound._proxies.cache_clear()


def test_a_post_sends_json_with_its_authorization_and_answers_the_parsed_body(server):
    server.answers["/verify"] = (200, b'{"result": "match"}')
    answer = JsonClient().post(
        f"{server.base}/verify", {"name": "张三"}, timeout=2, authorization=basic_auth("app", "s3cret")
    )
    assert answer == {"result": "match"}
    (seen,) = server.seen
    assert seen["method"] == "POST"
    assert json.loads(seen["body"]) == {"name": "张三"}
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["Authorization"] == "Basic YXBwOnMzY3JldA=="  # base64 of app:s3cret


def test_a_get_puts_its_parameters_in_the_query(server):
    server.answers["/sns/jscode2session"] = (200, b'{"openid": "o-1"}')
    assert JsonClient().get(
        f"{server.base}/sns/jscode2session", {"js_code": "a b", "appid": "x"}, timeout=2
    ) == {"openid": "o-1"}
    assert server.seen[0]["path"] == "/sns/jscode2session?js_code=a+b&appid=x"


def test_the_proxy_is_looked_up_by_the_url_without_its_query(server):
    # The query may carry a secret (WeChat's), and differs per call: neither belongs in a cache.
    server.answers["/sns/jscode2session"] = (200, b"{}")
    client = JsonClient()
    for code in ("code-1", "code-2", "code-3"):
        client.get(f"{server.base}/sns/jscode2session", {"secret": "s3cret", "js_code": code}, timeout=2)
    assert outbound._proxies.cache_info().currsize == 1


def test_calls_reuse_one_connection_even_after_an_error_status(server):
    server.answers["/ok"] = (200, b"{}")
    server.answers["/down"] = (503, b'{"error": "busy"}')
    client = JsonClient()
    client.post(f"{server.base}/ok", {}, timeout=2)
    with pytest.raises(requests.HTTPError):
        client.post(f"{server.base}/down", {}, timeout=2)
    client.post(f"{server.base}/ok", {}, timeout=2)
    assert len({seen["port"] for seen in server.seen}) == 1


def test_a_body_that_is_not_json_raises_value_error(server):
    server.answers["/html"] = (200, b"<html>gateway error</html>")
    with pytest.raises(ValueError):
        JsonClient().post(f"{server.base}/html", {}, timeout=2)


def test_nobody_listening_raises_requests_connection_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the call: nothing listens there
    with pytest.raises(requests.ConnectionError):
        JsonClient().post(f"http://127.0.0.1:{port}/verify", {}, timeout=2)


def test_the_environment_proxy_is_used_unless_no_proxy_names_the_host(server, monkeypatch):
    # The recording server plays the proxy: a proxied request names the whole URL on its request line.
    server.answers["http://provider.invalid/verify"] = (200, b'{"via": "proxy"}')
    monkeypatch.setenv("HTTP_PROXY", server.base)
    assert JsonClient().post("http://provider.invalid/verify", {}, timeout=2) == {"via": "proxy"}
    assert server.seen[-1]["path"] == "http://provider.invalid/verify"

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    server.answers["/direct"] = (200, b'{"via": "direct"}')
    assert JsonClient().post(f"{server.base}/direct", {}, timeout=2) == {"via": "direct"}
    assert server.seen[-1]["path"] == "/direct"


@pytest.fixture
def tls_server(server, tmp_path):
    """The recording server behind TLS, its certificate self-signed for 127.0.0.1; yields the file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provider.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.answers["/verify"] = (200, b'{"result": "match"}')
    return cert_file


def test_a_ca_bundle_named_in_the_environment_is_trusted_and_nothing_else_is(server, tls_server, monkeypatch):
    url = f"https://127.0.0.1:{server.server_address[1]}/verify"
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_server))
    assert JsonClient().post(url, {}, timeout=2) == {"result": "match"}

    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(requests.exceptions.SSLError):
        JsonClient().post(url, {}, timeout=2)  # certifi's bundle does not know this certificate
