"""Signed codes for tickets and station posters: what one signer issues only it accepts back."""

import pytest

from services.common.signed_codes import CodeSigner, SignedCodeError

SECRET = b"k" * 32


def test_a_code_carries_its_fields_back():
    signer = CodeSigner(SECRET, purpose="ticket", prefix="T1")

    assert signer.verify(signer.sign("booking-1", "course-9")) == ["booking-1", "course-9"]


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"), "signature"),  # a flipped tag
        (lambda c: c.replace("T1.", "T1.x", 1), "signature"),  # a changed payload
        (lambda c: c[:15], "malformed"),  # truncated
        (lambda c: "S1" + c[2:], "malformed"),  # another kind's prefix
        (lambda c: c + ".extra", "malformed"),
        (lambda c: c.replace(".", "!", 1), "malformed"),
        (lambda c: "T1." + "A" * 300, "malformed"),  # absurdly long
    ],
)
def test_anything_but_an_issued_code_is_refused_with_the_reason(mangle, reason):
    signer = CodeSigner(SECRET, purpose="ticket", prefix="T1")

    with pytest.raises(SignedCodeError) as refused:
        signer.verify(mangle(signer.sign("booking-1", "course-9")))

    assert refused.value.code == reason


def test_a_code_of_another_purpose_or_key_never_verifies():
    ticket = CodeSigner(SECRET, purpose="ticket", prefix="T1").sign("x")

    for other in (
        CodeSigner(SECRET, purpose="station", prefix="T1"),
        CodeSigner(b"o" * 32, purpose="ticket", prefix="T1"),
    ):
        with pytest.raises(SignedCodeError, match="signature"):
            other.verify(ticket)


def test_non_strings_and_short_secrets_are_refused():
    signer = CodeSigner(SECRET, purpose="ticket", prefix="T1")
    with pytest.raises(SignedCodeError):
        signer.verify(12345)
    with pytest.raises(ValueError):
        CodeSigner(b"short", purpose="ticket", prefix="T1")
    with pytest.raises(ValueError):
        signer.sign("a:b")
