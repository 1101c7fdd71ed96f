"""Enrolment issuing card codes with its card-signing key ring, and publishing the public keys."""

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common import card_codes
from services.common.card_codes import CardTokenError, verify
from services.enrolment.card_token import CardIssuer

NOW = 1_717_200_000


@pytest.fixture
def member_id():
    return str(uuid.uuid4())


def test_an_issued_code_verifies_with_the_published_keys_to_the_member(member_id):
    issuer = CardIssuer([Ed25519PrivateKey.generate()])

    token, expires_in = issuer.issue(member_id, now=NOW)
    claims = verify(token, card_codes.jwks_keys(issuer.jwks()), now=NOW)

    assert expires_in == 60
    assert (claims.member_id, claims.expires_at) == (member_id, NOW + 60)


def test_two_codes_for_the_same_member_and_second_differ(member_id):
    issuer = CardIssuer([Ed25519PrivateKey.generate()])

    first, _ = issuer.issue(member_id, now=NOW)
    second, _ = issuer.issue(member_id, now=NOW)

    assert first != second
    assert (
        verify(first, issuer.public_keys, now=NOW).nonce != verify(second, issuer.public_keys, now=NOW).nonce
    )


def test_the_key_set_is_published_as_a_jwks_of_ed25519_signing_keys():
    keys = [Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()]

    published = CardIssuer(keys).jwks()["keys"]

    assert [k["kid"] for k in published] == [card_codes.key_id(k.public_key()) for k in keys]
    for jwk in published:
        assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
        assert len(jwk["kid"]) == 2 * card_codes.KEY_ID_BYTES
        assert "d" not in jwk  # never the private part


def test_after_rotation_the_new_key_signs_and_the_old_keys_codes_verify_while_it_is_published(member_id):
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    on_screen, _ = CardIssuer([old]).issue(member_id, now=NOW)

    rotated = CardIssuer([new, old])
    fresh, _ = rotated.issue(member_id, now=NOW)

    assert verify(on_screen, rotated.public_keys, now=NOW).member_id == member_id
    assert verify(fresh, CardIssuer([new]).public_keys, now=NOW).member_id == member_id
    with pytest.raises(CardTokenError) as withdrawn:
        verify(on_screen, CardIssuer([new]).public_keys, now=NOW)
    assert withdrawn.value.code == "card_token.signature"


@pytest.mark.parametrize("ttl", [0, -1, 601])
def test_a_lifetime_outside_one_second_to_ten_minutes_is_refused(member_id, ttl):
    with pytest.raises(ValueError):
        CardIssuer([Ed25519PrivateKey.generate()]).issue(member_id, now=NOW, ttl=ttl)


def test_a_key_ring_must_hold_keys_each_with_an_id_of_its_own():
    key = Ed25519PrivateKey.generate()

    with pytest.raises(ValueError):
        CardIssuer([])
    with pytest.raises(ValueError):
        CardIssuer([key, key])
