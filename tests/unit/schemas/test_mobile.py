import pytest

from schemas.mobile import ERROR_CODE, MobileError, is_valid, mask, normalise


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+8613812345678",
        "+86 138 1234 5678",
        "008613812345678",
        "8613812345678",
        "138-1234-5678",
        " 138 1234 5678 ",
        "＋８６ １３８１２３４５６７８",
    ],
)
def test_common_ways_of_writing_a_mobile_normalise_to_eleven_digits(raw):
    assert normalise(raw) == "13812345678"


@pytest.mark.parametrize("second_digit", "3456789")
def test_every_carrier_prefix_from_13_to_19_is_accepted(second_digit):
    assert normalise(f"1{second_digit}012345678") == f"1{second_digit}012345678"


@pytest.mark.parametrize(
    "raw",
    [
        "12812345678",  # 12x is not allocated to mobiles
        "11812345678",
        "23812345678",
        "1381234567",  # ten digits
        "138123456789",  # twelve digits
        "+85213812345678",  # Hong Kong country code
        "+86 0 13812345678",
        "1381234567a",
        "021-12345678",  # Shanghai landline
        "",
    ],
)
def test_numbers_that_are_not_mainland_mobiles_raise_the_invalid_code(raw):
    with pytest.raises(MobileError) as caught:
        normalise(raw)
    assert caught.value.code == ERROR_CODE == "mobile.invalid"


def test_is_valid_mirrors_normalise():
    assert is_valid("+86 138 1234 5678")
    assert not is_valid("12812345678")


def test_mask_shows_carrier_prefix_and_last_four_digits():
    assert mask("13812345678") == "138****5678"
    assert mask("+86 138-1234-5678") == "138****5678"


def test_mask_hides_an_invalid_number_completely():
    assert mask("12345") == "*****"
