import base64
import hashlib
import hmac
import os

import pytest

from services.enrolment.pii import (
    DecryptionError,
    KeyRing,
    KeyRingError,
    blind_index,
    decrypt,
    encrypt,
    needs_rotation,
    reencrypt,
)

ID_NUMBER = "11010519491231002X"
AD = b"member:42:resident_id"
K1 = KeyRing.generate_key()
K2 = KeyRing.generate_key()


def test_generated_key_is_32_random_bytes_in_base64():
    assert len(base64.urlsafe_b64decode(K1)) == 32
    assert K1 != K2


def test_first_key_in_the_configuration_is_current():
    ring = KeyRing.from_string(f"k2:{K2}, k1:{K1}")
    assert ring.current_kid == "k2"
    assert ring.kids == ("k2", "k1")


def test_standard_and_unpadded_urlsafe_base64_decode_to_the_same_key():
    raw = os.urandom(32)
    standard = base64.b64encode(raw).decode()
    urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert KeyRing.from_string(f"a:{standard}").key("a") == raw
    assert KeyRing.from_string(f"a:{urlsafe}").key("a") == raw


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "k1",
        f"k1:{K1},k1:{K2}",
        "k1:" + base64.b64encode(os.urandom(16)).decode(),
        "k1:not*base64",
        f":{K1}",
    ],
)
def test_malformed_key_rings_are_refused(spec):
    with pytest.raises(KeyRingError):
        KeyRing.from_string(spec)


def test_repr_never_shows_key_material():
    ring = KeyRing.from_string(f"k1:{K1}")
    assert K1 not in repr(ring)
    assert "k1" in repr(ring)


def test_round_trip_uses_the_current_key_and_a_fresh_nonce():
    ring = KeyRing.from_string(f"k1:{K1}")
    first = encrypt(ring, ID_NUMBER, associated_data=AD)
    second = encrypt(ring, ID_NUMBER, associated_data=AD)
    assert first.startswith("k1:")
    assert first != second
    assert ID_NUMBER not in first
    assert decrypt(ring, first, associated_data=AD) == ID_NUMBER
    assert decrypt(ring, second, associated_data=AD) == ID_NUMBER


def test_values_encrypted_before_rotation_still_decrypt_and_can_be_moved_to_the_new_key():
    old_ring = KeyRing.from_string(f"k1:{K1}")
    stored = encrypt(old_ring, ID_NUMBER, associated_data=AD)

    rotated = KeyRing.from_string(f"k2:{K2},k1:{K1}")
    assert decrypt(rotated, stored, associated_data=AD) == ID_NUMBER
    assert needs_rotation(rotated, stored)

    moved = reencrypt(rotated, stored, associated_data=AD)
    assert moved.startswith("k2:")
    assert not needs_rotation(rotated, moved)
    assert reencrypt(rotated, moved, associated_data=AD) == moved

    retired = KeyRing.from_string(f"k2:{K2}")
    assert decrypt(retired, moved, associated_data=AD) == ID_NUMBER
    with pytest.raises(DecryptionError):
        decrypt(retired, stored, associated_data=AD)


def test_tampered_ciphertext_fails():
    ring = KeyRing.from_string(f"k1:{K1}")
    kid, body = encrypt(ring, ID_NUMBER, associated_data=AD).split(":")
    blob = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    blob[-20] ^= 0x01
    tampered = f"{kid}:{base64.urlsafe_b64encode(bytes(blob)).decode()}"
    with pytest.raises(DecryptionError):
        decrypt(ring, tampered, associated_data=AD)


def test_ciphertext_moved_to_another_member_fails_to_decrypt():
    ring = KeyRing.from_string(f"k1:{K1}")
    stored = encrypt(ring, ID_NUMBER, associated_data=AD)
    with pytest.raises(DecryptionError):
        decrypt(ring, stored, associated_data=b"member:43:resident_id")


def test_ciphertext_under_a_key_id_reused_for_a_different_key_fails():
    stored = encrypt(KeyRing.from_string(f"k1:{K1}"), ID_NUMBER, associated_data=AD)
    with pytest.raises(DecryptionError):
        decrypt(KeyRing.from_string(f"k1:{K2}"), stored, associated_data=AD)


@pytest.mark.parametrize("token", ["", "no-colon", "k1:", "k1:!!!", "k1:AAAA", "unknown:" + "A" * 40])
def test_garbage_tokens_raise_decryption_error(token):
    ring = KeyRing.from_string(f"k1:{K1}")
    with pytest.raises(DecryptionError):
        decrypt(ring, token, associated_data=AD)


def test_blind_index_is_stable_and_ignores_case_and_spacing():
    key = os.urandom(32)
    index = blind_index(key, ID_NUMBER)
    assert index == blind_index(key, ID_NUMBER)
    assert index == blind_index(key, " 11010519491231002x ")
    assert index == hmac.new(key, ID_NUMBER.encode(), hashlib.sha256).hexdigest()


def test_blind_index_depends_on_the_key_and_the_value():
    key = os.urandom(32)
    assert blind_index(key, ID_NUMBER) != blind_index(os.urandom(32), ID_NUMBER)
    assert blind_index(key, ID_NUMBER) != blind_index(key, "110105194912310038")


def test_blind_index_refuses_a_short_key():
    with pytest.raises(ValueError):
        blind_index(b"short", ID_NUMBER)
