"""Member card codes as a till checks them: the format, Ed25519 signatures under published keys,
expiry, single use through the Redis key every redeeming service shares, and ``CardKeys`` fetching
enrolment's keys over real HTTP with a copy in Redis for when enrolment is down."""

import base64
import json
import os
import threading
import uuid

import jwt
import pytest
import segno
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from werkzeug.wrappers import Request, Response

from services.common import card_codes
from services.common.card_codes import (
    USED_MARGIN_SECONDS,
    CardTokenError,
    InMemoryUsedTokens,
    RedisUsedTokens,
    redeem,
    verify,
)
from services.common.card_keys import CardKeys, CardKeysUnavailable
from services.common.qr import ERROR_CORRECTION
from tests.support import http_server

NOW = 1_717_200_000
MEMBER = "3f2b8c1e-7d4a-4e0b-9a51-2c6d8e9f0a1b"


def sign(key: Ed25519PrivateKey, member_id: str = MEMBER, *, expires_at: int = NOW + 60) -> str:
    return card_codes.encode(
        kid=card_codes.key_id(key.public_key()),
        expires_at=expires_at,
        nonce=os.urandom(card_codes.NONCE_BYTES),
        member_id=member_id,
        sign=key.sign,
    )


def published(*keys: Ed25519PrivateKey) -> dict:
    return {card_codes.key_id(k.public_key()): k.public_key() for k in keys}


def raw(token: str) -> bytearray:
    return bytearray(base64.b32decode(token))


def spelled(data: bytes) -> str:
    return base64.b32encode(bytes(data)).decode().rstrip("=")


def flipped(token: str, index: int) -> str:
    data = raw(token)
    data[index] ^= 0x01
    return spelled(data)


def refused(token, keys, now=NOW) -> str:
    with pytest.raises(CardTokenError) as error:
        verify(token, keys, now=now)
    return error.value.code


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


# --- the format -----------------------------------------------------------------------------------


def test_a_signed_code_verifies_to_its_member_expiry_and_nonce(key):
    token = sign(key)

    claims = verify(token, published(key), now=NOW)

    assert claims.member_id == MEMBER
    assert claims.expires_at == NOW + 60
    assert len(bytes.fromhex(claims.nonce)) == card_codes.NONCE_BYTES


def test_the_code_is_168_base32_characters_a_version_7_qr_symbol(key):
    token = sign(key)

    qr = segno.make(token, error=ERROR_CORRECTION, boost_error=False, micro=False)

    assert len(token) == card_codes.TOKEN_LENGTH == 168
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert (qr.mode, qr.designator, qr.symbol_size(border=0)) == ("alphanumeric", "7-M", (45, 45))


def test_a_code_is_valid_until_the_last_second_before_it_expires(key):
    token = sign(key, expires_at=NOW + 30)

    assert verify(token, published(key), now=NOW + 29).expires_at == NOW + 30
    assert refused(token, published(key), now=NOW + 30) == "card_token.expired"


@pytest.mark.parametrize(
    "index",
    [
        pytest.param(1, id="key-id"),
        pytest.param(5, id="expiry"),
        pytest.param(9, id="nonce"),
        pytest.param(-65, id="member-id"),
        pytest.param(-1, id="signature"),
    ],
)
def test_a_flipped_bit_anywhere_signed_is_a_forgery(key, index):
    assert refused(flipped(sign(key), index), published(key)) == "card_token.signature"


def test_an_altered_expired_code_is_reported_as_forged_not_expired(key):
    assert refused(flipped(sign(key), -65), published(key), now=NOW + 3600) == "card_token.signature"


def test_a_code_signed_by_a_key_that_is_not_published_is_refused(key):
    stranger = Ed25519PrivateKey.generate()

    assert refused(sign(stranger), published(key)) == "card_token.signature"


def test_a_code_naming_a_published_key_but_signed_by_another_is_refused(key):
    # The key id is in the clear: a forger can copy it, never the signature.
    forged = raw(sign(Ed25519PrivateKey.generate()))
    forged[1:5] = bytes.fromhex(card_codes.key_id(key.public_key()))

    assert refused(spelled(forged), published(key)) == "card_token.signature"


def test_a_signature_the_key_made_for_anything_else_does_not_verify(key):
    data = raw(sign(key))
    data[-64:] = key.sign(bytes(data[:-64]))  # the payload alone, without the card codes' context

    assert refused(spelled(data), published(key)) == "card_token.signature"


def test_another_version_is_malformed(key):
    data = raw(sign(key))
    data[0] = 1

    assert refused(spelled(data), published(key)) == "card_token.malformed"


def test_an_access_token_passed_as_a_card_code_is_malformed(key):
    access = jwt.encode({"sub": "staff:1", "exp": NOW + 60}, key, algorithm="EdDSA", headers={"kid": "k1"})

    assert refused(access, published(key)) == "card_token.malformed"


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda t: t[:-1], id="truncated-by-one"),
        pytest.param(lambda t: t[:100], id="truncated"),
        pytest.param(lambda t: t + "A", id="extended"),
        pytest.param(lambda t: t.lower(), id="lower-case"),
        pytest.param(lambda t: t[:-1] + "=", id="padding"),
        pytest.param(lambda t: t[:-1] + "1", id="outside-the-alphabet"),
        pytest.param(lambda t: " " + t[1:], id="space"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: None, id="null"),
        pytest.param(lambda t: 42, id="number"),
        pytest.param(lambda t: base64.urlsafe_b64encode(raw(t)).decode().rstrip("="), id="base64url"),
    ],
)
def test_anything_but_a_whole_code_is_malformed(key, mangle):
    assert refused(mangle(sign(key)), published(key)) == "card_token.malformed"


@pytest.mark.parametrize(
    "member_id",
    ["member-42", MEMBER.upper(), MEMBER.replace("-", ""), "{" + MEMBER + "}", "", None],
)
def test_only_a_canonical_uuid_can_be_encoded_so_the_till_reads_back_the_same_id(key, member_id):
    with pytest.raises(ValueError):
        sign(key, member_id)


# --- redeeming once -------------------------------------------------------------------------------


@pytest.fixture(params=["in_memory", "redis"])
def used_store(request):
    if request.param == "in_memory":
        return InMemoryUsedTokens()
    return RedisUsedTokens(request.getfixturevalue("redis_client"))  # the tests' database


def test_a_code_is_redeemed_once_and_refused_the_second_time(key, used_store):
    token = sign(key)

    assert redeem(token, published(key), now=NOW, used=used_store).member_id == MEMBER
    with pytest.raises(CardTokenError) as again:
        redeem(token, published(key), now=NOW + 1, used=used_store)
    assert again.value.code == "card_token.used"


def test_a_forged_code_does_not_use_up_the_real_one(key, used_store):
    token = sign(key)

    with pytest.raises(CardTokenError):
        redeem(flipped(token, -1), published(key), now=NOW, used=used_store)

    assert redeem(token, published(key), now=NOW, used=used_store).member_id == MEMBER


def test_a_code_redeemed_by_one_service_is_refused_by_another_sharing_redis(key, redis_client):
    token = sign(key)
    enrolment, merchants = RedisUsedTokens(redis_client), RedisUsedTokens(redis_client)

    claims = redeem(token, published(key), now=NOW, used=enrolment)

    with pytest.raises(CardTokenError) as again:
        redeem(token, published(key), now=NOW, used=merchants)
    assert again.value.code == "card_token.used"
    assert redis_client.exists(f"unionhub:card_token:used:{claims.nonce}")


def test_the_used_nonce_is_kept_until_the_code_expires_plus_a_margin(key, redis_client):
    claims = redeem(
        sign(key, expires_at=NOW + 60), published(key), now=NOW + 20, used=RedisUsedTokens(redis_client)
    )

    ttl = redis_client.ttl(card_codes.used_key(claims.nonce))

    assert 40 + USED_MARGIN_SECONDS - 5 < ttl <= 40 + USED_MARGIN_SECONDS


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_in_memory_store_forgets_a_nonce_after_its_ttl():
    clock = FakeClock()
    store = InMemoryUsedTokens(clock=clock)
    assert store.mark_used("nonce-a", 10)
    clock.now = 9.9
    assert not store.mark_used("nonce-a", 10)
    clock.now = 10.0
    assert store.mark_used("nonce-a", 10)


# --- the published keys ---------------------------------------------------------------------------


def test_a_published_key_set_reads_back_to_the_same_keys_by_id(key):
    other = Ed25519PrivateKey.generate()
    document = {"keys": [card_codes.public_jwk(k.public_key()) for k in (key, other)]}

    keys = card_codes.jwks_keys(json.loads(json.dumps(document)))

    assert keys.keys() == published(key, other).keys()
    assert verify(sign(other), keys, now=NOW).member_id == MEMBER


def test_entries_that_are_not_ed25519_keys_under_their_own_id_are_skipped(key):
    good = card_codes.public_jwk(key.public_key())
    misnamed = {**card_codes.public_jwk(Ed25519PrivateKey.generate().public_key()), "kid": good["kid"]}
    entries = [misnamed, {**good, "kty": "RSA"}, {**good, "x": "AAAA"}, {"kid": "x"}, "junk", good]

    assert card_codes.jwks_keys({"keys": entries}) == {good["kid"]: key.public_key()}
    with pytest.raises(ValueError):
        card_codes.jwks_keys({"keys": entries[:-1]})
    with pytest.raises(ValueError):
        card_codes.jwks_keys(["not", "a", "key", "set"])


class KeyServer:
    """Enrolment's card-keys endpoint over real HTTP: serves ``keys``, counts fetches, and answers
    500 while ``failing``."""

    def __init__(self) -> None:
        self.keys: list[Ed25519PrivateKey] = []
        self.fetches = 0
        self.failing = False
        self._lock = threading.Lock()

    @Request.application
    def app(self, request):
        with self._lock:
            self.fetches += 1
        if self.failing:
            return Response("down for maintenance", status=500)
        body = {"keys": [card_codes.public_jwk(k.public_key()) for k in self.keys]}
        return Response(json.dumps(body), mimetype="application/json")


@pytest.fixture
def enrolment():
    server = KeyServer()
    with http_server(server.app, "card-keys") as base_url:
        server.url = f"{base_url}{card_codes.KEYS_PATH}"
        yield server


@pytest.fixture
def copy_key(redis_client):
    name = f"test:card_keys:{uuid.uuid4().hex}"
    yield name
    redis_client.delete(name)


def test_keys_are_fetched_once_and_cached(enrolment, redis_client, copy_key, key):
    enrolment.keys = [key]
    keys = CardKeys(enrolment.url, redis_client, copy_key)

    for _ in range(5):
        verify(sign(key), keys, now=NOW)

    assert enrolment.fetches == 1


def test_a_new_key_is_picked_up_by_refetching_on_an_unknown_key_id(enrolment, redis_client, copy_key, key):
    new = Ed25519PrivateKey.generate()
    enrolment.keys = [key]
    keys = CardKeys(enrolment.url, redis_client, copy_key, min_refetch_seconds=0)
    verify(sign(key), keys, now=NOW)

    enrolment.keys = [new, key]  # enrolment rotates: the new key first, the old one still published

    assert verify(sign(new), keys, now=NOW).member_id == MEMBER
    assert verify(sign(key), keys, now=NOW).member_id == MEMBER
    assert enrolment.fetches == 2


def test_codes_naming_unknown_keys_refetch_at_most_once_an_interval(enrolment, redis_client, copy_key, key):
    enrolment.keys = [key]
    keys = CardKeys(enrolment.url, redis_client, copy_key, min_refetch_seconds=60)
    verify(sign(key), keys, now=NOW)

    for _ in range(5):
        assert refused(sign(Ed25519PrivateKey.generate()), keys) == "card_token.signature"

    assert enrolment.fetches == 1


def test_a_process_starting_while_enrolment_is_down_checks_codes_with_the_copy_in_redis(
    redis_client, copy_key, key
):
    server = KeyServer()
    server.keys = [key]
    with http_server(server.app, "card-keys") as base_url:
        url = f"{base_url}{card_codes.KEYS_PATH}"
        verify(sign(key), CardKeys(url, redis_client, copy_key), now=NOW)  # a till that ran before
    # Enrolment is gone: nothing listens on its port any more.

    started_later = CardKeys(url, redis_client, copy_key, timeout=2)

    assert verify(sign(key), started_later, now=NOW).member_id == MEMBER
    assert refused(sign(Ed25519PrivateKey.generate()), started_later) == "card_token.signature"


def test_an_error_answer_from_enrolment_falls_back_to_the_copy_in_redis(
    enrolment, redis_client, copy_key, key
):
    enrolment.keys = [key]
    CardKeys(enrolment.url, redis_client, copy_key).get(card_codes.key_id(key.public_key()))
    enrolment.failing = True

    keys = CardKeys(enrolment.url, redis_client, copy_key)

    assert verify(sign(key), keys, now=NOW).member_id == MEMBER
    assert enrolment.fetches == 2


def test_with_no_keys_anywhere_a_code_cannot_be_checked_rather_than_being_called_forged(
    enrolment, redis_client, copy_key, key
):
    enrolment.failing = True
    keys = CardKeys(enrolment.url, redis_client, copy_key)

    with pytest.raises(CardKeysUnavailable):
        verify(sign(key), keys, now=NOW)


@pytest.mark.parametrize("raw_bytes", [bytes(105), b"\xff" * 105, b"\x00\x01" + os.urandom(103)])
def test_a_code_decodes_to_the_bytes_base32_encodes_leading_zeros_and_all(raw_bytes):
    token = base64.b32encode(raw_bytes).decode()
    assert card_codes._decode(token) == raw_bytes == base64.b32decode(token)
