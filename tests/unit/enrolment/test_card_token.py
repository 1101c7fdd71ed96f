import base64
import os
import uuid

import pytest

from services.enrolment.card_token import (
    USED_MARGIN_SECONDS,
    CardClaims,
    CardTokenError,
    InMemoryUsedTokens,
    RedisUsedTokens,
    issue,
    redeem,
    verify,
)

SECRET = b"card-token-secret-for-unit-tests-0123456789"
NOW = 1_717_200_000


def code_of(excinfo) -> str:
    return excinfo.value.code


def flip_last_payload_byte(token: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[-17] ^= 0x01  # last byte before the 16-byte tag
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


class FakeClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["in_memory", "redis"])
def used_store(request):
    if request.param == "in_memory":
        yield InMemoryUsedTokens()
        return
    client = request.getfixturevalue("redis_client")  # the tests' database (tests/support.py)
    prefix = f"test:card_token:{uuid.uuid4().hex}:"
    yield RedisUsedTokens(client, key_fn=lambda nonce: prefix + nonce)
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)


def test_issued_token_verifies_to_the_member_and_expiry():
    token, expires_in = issue("member-42", secret=SECRET, now=NOW)
    claims = verify(token, secret=SECRET, now=NOW)
    assert expires_in == 60
    assert claims.member_id == "member-42"
    assert claims.expires_at == NOW + 60
    assert len(bytes.fromhex(claims.nonce)) == 16


def test_token_is_compact_and_url_safe():
    token, _ = issue("会员-42", secret=SECRET, now=NOW)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(token) < 80
    assert verify(token, secret=SECRET, now=NOW).member_id == "会员-42"


def test_two_tokens_for_the_same_member_and_second_differ():
    first, _ = issue("member-42", secret=SECRET, now=NOW)
    second, _ = issue("member-42", secret=SECRET, now=NOW)
    assert first != second
    assert verify(first, secret=SECRET, now=NOW).nonce != verify(second, secret=SECRET, now=NOW).nonce


def test_token_is_valid_until_the_last_second_before_expiry():
    token, _ = issue("member-42", secret=SECRET, now=NOW, ttl=30)
    assert verify(token, secret=SECRET, now=NOW + 29).expires_at == NOW + 30
    with pytest.raises(CardTokenError) as excinfo:
        verify(token, secret=SECRET, now=NOW + 30)
    assert code_of(excinfo) == "card_token.expired"


def test_token_signed_with_another_secret_is_refused():
    token, _ = issue("member-42", secret=os.urandom(32), now=NOW)
    with pytest.raises(CardTokenError) as excinfo:
        verify(token, secret=SECRET, now=NOW)
    assert code_of(excinfo) == "card_token.signature"


def test_altering_the_member_id_breaks_the_signature():
    token, _ = issue("member-42", secret=SECRET, now=NOW)
    with pytest.raises(CardTokenError) as excinfo:
        verify(flip_last_payload_byte(token), secret=SECRET, now=NOW)
    assert code_of(excinfo) == "card_token.signature"


def test_altered_expired_token_is_reported_as_forged_not_expired():
    token, _ = issue("member-42", secret=SECRET, now=NOW)
    with pytest.raises(CardTokenError) as excinfo:
        verify(flip_last_payload_byte(token), secret=SECRET, now=NOW + 3600)
    assert code_of(excinfo) == "card_token.signature"


@pytest.mark.parametrize("token", ["", "abc", "not a token!", "A" * 20, "+/+/" * 20, "AgAAAAA" + "A" * 60])
def test_malformed_tokens_are_refused(token):
    with pytest.raises(CardTokenError) as excinfo:
        verify(token, secret=SECRET, now=NOW)
    assert code_of(excinfo) == "card_token.malformed"


@pytest.mark.parametrize("kwargs", [{"ttl": 0}, {"ttl": 601}, {"secret": b"short"}])
def test_issue_refuses_unsafe_settings(kwargs):
    with pytest.raises(ValueError):
        issue("member-42", **{"secret": SECRET, "now": NOW, **kwargs})


def test_issue_refuses_a_non_string_member_id():
    with pytest.raises(ValueError):
        issue(42, secret=SECRET, now=NOW)


def test_redeem_succeeds_once_and_refuses_the_second_scan(used_store):
    token, _ = issue("member-42", secret=SECRET, now=NOW)
    claims = redeem(token, secret=SECRET, now=NOW, used=used_store)
    assert isinstance(claims, CardClaims)
    assert claims.member_id == "member-42"
    with pytest.raises(CardTokenError) as excinfo:
        redeem(token, secret=SECRET, now=NOW + 1, used=used_store)
    assert code_of(excinfo) == "card_token.used"


def test_redeeming_a_forged_token_does_not_use_up_the_real_one(used_store):
    token, _ = issue("member-42", secret=SECRET, now=NOW)
    with pytest.raises(CardTokenError):
        redeem(flip_last_payload_byte(token), secret=SECRET, now=NOW, used=used_store)
    assert redeem(token, secret=SECRET, now=NOW, used=used_store).member_id == "member-42"


def test_used_stores_report_first_use_only_per_nonce(used_store):
    assert used_store.mark_used("nonce-a", 60) is True
    assert used_store.mark_used("nonce-a", 60) is False
    assert used_store.mark_used("nonce-b", 60) is True


def test_in_memory_store_forgets_a_nonce_after_its_ttl():
    clock = FakeClock()
    store = InMemoryUsedTokens(clock=clock)
    assert store.mark_used("nonce-a", 10)
    clock.now = 9.9
    assert not store.mark_used("nonce-a", 10)
    clock.now = 10.0
    assert store.mark_used("nonce-a", 10)


def test_redis_store_keeps_the_nonce_until_the_token_expires_plus_margin(redis_client):
    captured = []
    store = RedisUsedTokens(redis_client, key_fn=lambda nonce: captured.append(nonce) or f"test:ttl:{nonce}")
    token, _ = issue("member-42", secret=SECRET, now=NOW, ttl=60)
    redeem(token, secret=SECRET, now=NOW + 20, used=store)
    key = f"test:ttl:{captured[0]}"
    try:
        assert 0 < redis_client.ttl(key) <= 40 + USED_MARGIN_SECONDS
        assert redis_client.ttl(key) > 40 + USED_MARGIN_SECONDS - 5
    finally:
        redis_client.delete(key)
