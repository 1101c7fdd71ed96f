"""Token verification against a JWKS served over real HTTP, including key rotation, and the copy
of the JWKS kept in a service's database (on SQLite here) for a process started while it is down."""

import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm
from sqlalchemy import MetaData, event, select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from services.common.auth import AUDIENCE, KeysUnavailable, TokenVerifier
from services.common.db import Database
from services.common.errors import Problem
from services.common.jwks import IssuerKeysCopy, JwksKeys

ISSUER = "unionhub-enrolment"


class JwksServer:
    """Serves whatever keys the test puts in ``self.keys``, and counts fetches."""

    def __init__(self):
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.answer: str | None = None  # served instead of the key set when set
        self.status = 200
        self.fetches = 0
        self.server = make_server("127.0.0.1", 0, self.app)
        self.url = f"http://127.0.0.1:{self.server.server_port}/.well-known/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @Request.application
    def app(self, request):
        self.fetches += 1
        if self.answer is not None or self.status != 200:
            return Response(self.answer or "", status=self.status, mimetype="text/html")
        body = {
            "keys": [
                {**json.loads(OKPAlgorithm.to_jwk(k.public_key())), "kid": kid, "alg": "EdDSA"}
                for kid, k in self.keys.items()
            ]
        }
        return Response(json.dumps(body), mimetype="application/json")


@pytest.fixture
def jwks():
    server = JwksServer()
    yield server
    server.server.shutdown()


def token(key, kid, **overrides):
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "staff:1",
        "iat": now,
        "exp": now + 60,
        "roles": ["admin"],
    }
    claims.update(overrides)
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


def test_a_token_signed_by_a_published_key_is_accepted_and_its_claims_read(jwks):
    key = Ed25519PrivateKey.generate()
    jwks.keys["k1"] = key
    verifier = TokenVerifier(JwksKeys(jwks.url), ISSUER)

    principal = verifier.verify(token(key, "k1", units=["u-1"], member_id=None))

    assert principal.subject == "staff:1"
    assert principal.roles == {"admin"}
    assert principal.units == ("u-1",)


def test_the_jwks_is_cached_between_verifications(jwks):
    key = Ed25519PrivateKey.generate()
    jwks.keys["k1"] = key
    verifier = TokenVerifier(JwksKeys(jwks.url), ISSUER)

    for _ in range(5):
        verifier.verify(token(key, "k1"))

    assert jwks.fetches == 1


def test_a_new_signing_key_is_picked_up_by_refetching_on_an_unknown_kid(jwks):
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks.keys["k1"] = old
    verifier = TokenVerifier(JwksKeys(jwks.url, min_refetch_seconds=0), ISSUER)
    verifier.verify(token(old, "k1"))

    jwks.keys["k2"] = new  # the issuer rotates

    assert verifier.verify(token(new, "k2")).subject == "staff:1"
    assert jwks.fetches == 2


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda k: token(k, "k1", exp=int(time.time()) - 120), id="expired"),
        pytest.param(lambda k: token(k, "k1", iss="someone-else"), id="wrong-issuer"),
        pytest.param(lambda k: token(k, "k1", aud="another-app"), id="wrong-audience"),
        pytest.param(lambda k: token(Ed25519PrivateKey.generate(), "k1"), id="signed-by-another-key"),
        pytest.param(lambda k: token(k, "unknown"), id="unknown-kid"),
        pytest.param(lambda k: "not-a-jwt", id="garbage"),
    ],
)
def test_a_token_that_does_not_verify_is_refused_with_401(jwks, tamper):
    key = Ed25519PrivateKey.generate()
    jwks.keys["k1"] = key
    verifier = TokenVerifier(JwksKeys(jwks.url), ISSUER)

    with pytest.raises(Problem) as refused:
        verifier.verify(tamper(key))

    assert refused.value.status == 401
    assert refused.value.code == "token_invalid"


def test_an_unreachable_issuer_means_service_unavailable_not_acceptance():
    verifier = TokenVerifier(JwksKeys("http://127.0.0.1:9/.well-known/jwks.json"), ISSUER)

    with pytest.raises(Problem) as refused:
        verifier.verify(token(Ed25519PrivateKey.generate(), "k1"))

    assert refused.value.status == 503


def _forged(header: dict, claims: dict, signature: bytes = b"x" * 64) -> str:
    def part(raw: bytes) -> str:
        return jwt.utils.base64url_encode(raw).decode()

    return ".".join([part(json.dumps(header).encode()), part(json.dumps(claims).encode()), part(signature)])


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "HS256", "none", "EdDSA ", "", 7, None])
def test_a_token_naming_another_algorithm_with_a_known_kid_is_401_not_500(jwks, alg):
    jwks.keys["k1"] = Ed25519PrivateKey.generate()
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "staff:1", "iat": now, "exp": now + 60}
    verifier = TokenVerifier(JwksKeys(jwks.url), ISSUER)

    with pytest.raises(Problem) as refused:
        verifier.verify(_forged({"alg": alg, "kid": "k1", "typ": "JWT"}, claims))

    assert (refused.value.status, refused.value.code) == (401, "token_invalid")


@pytest.mark.parametrize(
    "garbage",
    [
        *("", ".", "a.b.c", "e30.e30.", "x" * 5000, "eyJhbGciOiJFZERTQSIsImtpZCI6WzFdfQ.e30.e30"),
        # Headers that are no object, a kid that is no string, no base64 at all: the kid is read
        # without PyJWT, so these must still end in 401.
        *("WzFd.e30.e30", "bnVsbA.e30.e30", "eyJraWQiOjF9.e30.e30", "é.e30.e30", "a$b.e30.e30"),
    ],
)
def test_malformed_tokens_are_401(jwks, garbage):
    jwks.keys["k1"] = Ed25519PrivateKey.generate()
    with pytest.raises(Problem) as refused:
        TokenVerifier(JwksKeys(jwks.url), ISSUER).verify(garbage)
    assert refused.value.status == 401


def test_a_remembered_token_is_refused_once_it_expires(jwks):
    key = Ed25519PrivateKey.generate()
    jwks.keys["k1"] = key
    verifier = TokenVerifier(JwksKeys(jwks.url), ISSUER, leeway=0)
    short = token(key, "k1", exp=int(time.time()) + 2)
    first = verifier.verify(short)

    assert verifier.verify(short) is first  # remembered, not checked again
    time.sleep(2.1)
    with pytest.raises(Problem) as refused:
        verifier.verify(short)
    assert (refused.value.status, refused.value.code) == (401, "token_invalid")


def test_a_remembered_token_is_refused_once_its_key_is_rotated_out(jwks):
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks.keys["k1"] = old
    verifier = TokenVerifier(JwksKeys(jwks.url, cache_seconds=0, min_refetch_seconds=0), ISSUER)
    signed = token(old, "k1")
    verifier.verify(signed)

    jwks.keys = {"k2": new}  # the issuer withdraws the old key

    with pytest.raises(Problem) as refused:
        verifier.verify(signed)
    assert refused.value.status == 401


def test_with_the_issuer_down_the_keys_held_still_check_tokens_and_it_is_asked_once_an_interval(jwks):
    key = Ed25519PrivateKey.generate()
    jwks.keys["k1"] = key
    keys = JwksKeys(jwks.url, cache_seconds=0, min_refetch_seconds=0.5)
    verifier = TokenVerifier(keys, ISSUER)
    verifier.verify(token(key, "k1"))
    jwks.status = 503  # enrolment failing (counted, unlike a refused connection)
    time.sleep(0.6)

    later = [verifier.verify(token(key, "k1", sub=f"staff:{n}")) for n in range(3)]  # cache stale

    assert [p.subject for p in later] == ["staff:0", "staff:1", "staff:2"]
    assert jwks.fetches == 2  # one try for the three: the next waits out the interval
    time.sleep(0.6)
    assert verifier.verify(token(key, "k1", sub="staff:3")).subject == "staff:3"
    assert jwks.fetches == 3


def test_with_the_issuer_down_a_key_not_held_cannot_be_checked_and_is_503(jwks):
    key = Ed25519PrivateKey.generate()
    jwks.keys["k1"] = key
    verifier = TokenVerifier(JwksKeys(jwks.url, min_refetch_seconds=0), ISSUER)
    verifier.verify(token(key, "k1"))
    jwks.server.shutdown()
    jwks.server.server_close()

    with pytest.raises(Problem) as refused:  # a key rotated in while enrolment is down, say
        verifier.verify(token(Ed25519PrivateKey.generate(), "k2"))

    assert refused.value.status == 503
    assert verifier.verify(token(key, "k1")).subject == "staff:1"


def test_an_issuer_never_reached_is_503_with_retry_after():
    verifier = TokenVerifier(JwksKeys("http://127.0.0.1:9/.well-known/jwks.json"), ISSUER)

    with pytest.raises(Problem) as refused:
        verifier.verify(token(Ed25519PrivateKey.generate(), "k1"))

    assert refused.value.status == 503 and int(refused.value.headers["Retry-After"]) > 0


def test_an_issuer_answering_garbage_is_503_not_every_token_refused(jwks):
    jwks.answer = "<html>"
    with pytest.raises(Problem) as refused:
        TokenVerifier(JwksKeys(jwks.url), ISSUER).verify(token(Ed25519PrivateKey.generate(), "k1"))
    assert refused.value.status == 503


def test_a_token_header_nested_a_thousand_deep_is_401_not_500(jwks):
    jwks.keys["k1"] = Ed25519PrivateKey.generate()
    header = jwt.utils.base64url_encode(b"[" * 1000 + b"]" * 1000).decode()
    with pytest.raises(Problem) as refused:
        TokenVerifier(JwksKeys(jwks.url), ISSUER).verify(f"{header}.e30.e30")
    assert refused.value.status == 401


# --- the copy in the service's database -------------------------------------------------------------


@pytest.fixture
def database(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/service.db", MetaData())
    db.create_all()
    yield db
    db.engine.dispose()


def started(jwks, database, **options) -> TokenVerifier:
    """A verifier as a newly started process of the service builds it (services/common/kit.py)."""
    copy = IssuerKeysCopy(database.engine, database.issuer_keys)
    return TokenVerifier(JwksKeys(jwks.url, copy=copy, **options), ISSUER)


def kept(database) -> list:
    with database.engine.connect() as conn:
        return conn.execute(select(database.issuer_keys)).all()


def kids(document: str) -> set[str]:
    return {k["kid"] for k in json.loads(document)["keys"]}


def test_a_fetched_key_set_is_kept_and_not_written_again_while_it_is_unchanged(jwks, database):
    key = Ed25519PrivateKey.generate()
    jwks.keys["k1"] = key
    verifier = started(jwks, database, cache_seconds=0, min_refetch_seconds=0)
    verifier.verify(token(key, "k1"))
    [row] = kept(database)
    assert (row.url, kids(row.jwks)) == (jwks.url, {"k1"})
    sent: list[str] = []
    event.listen(database.engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    fetched = jwks.fetches

    for n in range(3):  # the cache aged each time: the issuer is asked again, and answers the same
        verifier.verify(token(key, "k1", sub=f"staff:{n}"))
    assert jwks.fetches - fetched >= 3 and sent == []

    started(jwks, database).verify(token(key, "k1"))  # another process: its save finds it there
    assert kept(database) == [row]  # not even fetched_at moved

    jwks.keys["k2"] = Ed25519PrivateKey.generate()  # the issuer rotates
    verifier.verify(token(key, "k1"))
    [rotated] = kept(database)
    assert kids(rotated.jwks) == {"k1", "k2"} and rotated.fetched_at > row.fetched_at


def test_a_process_started_while_the_issuer_is_down_checks_tokens_with_the_copy(jwks, database, caplog):
    key = Ed25519PrivateKey.generate()
    jwks.keys["k1"] = key
    started(jwks, database).verify(token(key, "k1"))
    [row] = kept(database)
    jwks.status = 503  # enrolment down; then a worker is restarted

    assert started(jwks, database).verify(token(key, "k1", sub="staff:2")).subject == "staff:2"
    assert jwks.fetches == 2  # the issuer was asked first
    assert "copy in the database" in caplog.text and row.fetched_at.isoformat() in caplog.text


def test_with_no_copy_kept_and_the_issuer_down_a_token_is_503_as_before(jwks, database):
    jwks.status = 503
    verifier = started(jwks, database)

    with pytest.raises(Problem) as refused:
        verifier.verify(token(Ed25519PrivateKey.generate(), "k1"))

    assert refused.value.status == 503 and refused.value.headers["Retry-After"]
    assert kept(database) == []


def test_a_copy_naming_other_keys_does_not_check_a_token_whose_key_it_lacks(jwks, database):
    jwks.keys["k1"] = Ed25519PrivateKey.generate()
    started(jwks, database).verify(token(jwks.keys["k1"], "k1"))
    jwks.status = 503

    with pytest.raises(KeysUnavailable):
        started(jwks, database).keys.key("k2")  # rotated in while enrolment was down, say


def test_a_failing_database_neither_stops_fetched_keys_nor_turns_the_outage_into_anything_but_503(
    jwks, tmp_path
):
    # The table was never made: every statement on it fails, as on a database that is away.
    database = Database(f"sqlite:///{tmp_path}/unmigrated.db", MetaData())
    key = Ed25519PrivateKey.generate()
    jwks.keys["k1"] = key
    try:
        assert started(jwks, database).verify(token(key, "k1")).subject == "staff:1"
        jwks.status = 503
        with pytest.raises(Problem) as refused:
            started(jwks, database).verify(token(key, "k1"))
    finally:
        database.engine.dispose()

    assert refused.value.status == 503


def test_the_copy_is_not_asked_while_the_issuer_answers(jwks, database, monkeypatch):
    withdrawn = Ed25519PrivateKey.generate()
    jwks.keys["k1"] = withdrawn
    started(jwks, database).verify(token(withdrawn, "k1"))
    jwks.keys = {"k2": Ed25519PrivateKey.generate()}  # k1 revoked, the copy not yet rewritten
    loads = []
    monkeypatch.setattr(IssuerKeysCopy, "load", lambda self, url: loads.append(url))

    with pytest.raises(Problem) as refused:
        started(jwks, database).verify(token(withdrawn, "k1"))

    assert (refused.value.status, loads) == (401, [])


def test_keys_from_the_copy_are_dropped_once_the_issuer_answers_again(jwks, database):
    withdrawn, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    jwks.keys["k1"] = withdrawn
    started(jwks, database).verify(token(withdrawn, "k1"))
    jwks.status = 503
    verifier = started(jwks, database, cache_seconds=0, min_refetch_seconds=0)
    signed = token(withdrawn, "k1")
    verifier.verify(signed)  # from the copy

    jwks.status, jwks.keys = 200, {"k2": new}  # back, having revoked k1 meanwhile

    with pytest.raises(Problem) as refused:
        verifier.verify(signed)
    assert refused.value.status == 401
    assert verifier.verify(token(new, "k2")).subject == "staff:1"
