"""Enrolment's issuer as its own verifier's key source: the tokens it checked are remembered."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common.auth import KeyNotFound, TokenVerifier
from services.enrolment.secrets import SigningKey
from services.enrolment.tokens import Issuer

ISSUER = "unionhub-test"


@pytest.fixture
def issuer():
    return Issuer(
        [SigningKey("k2", Ed25519PrivateKey.generate()), SigningKey("k1", Ed25519PrivateKey.generate())],
        ISSUER,
        900,
    )


def test_each_kid_gives_the_same_public_key_every_time(issuer):
    assert issuer.key("k2") is issuer.key("k2")
    assert issuer.key("k1") is issuer.key("k1")
    assert issuer.key("k1") is not issuer.key("k2")


def test_an_unknown_kid_is_not_found(issuer):
    with pytest.raises(KeyNotFound):
        issuer.key("k3")


def test_enrolment_takes_a_token_it_checked_again_without_checking_it_anew(issuer):
    verifier = TokenVerifier(issuer, ISSUER)
    token, _ = issuer.issue("wx:o-1", ["member"], member_id="m-1")
    first = verifier.verify(token)

    assert (first.subject, first.member_id, first.roles) == ("wx:o-1", "m-1", frozenset({"member"}))
    assert verifier.verify(token) is first  # remembered, not checked again
