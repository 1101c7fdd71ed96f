import pytest

from services.enrolment.card_number import (
    DEFAULT_PROVINCE,
    display,
    format_card_number,
    is_valid_card_number,
    luhn_check_digit,
    normalise_card_number,
)

CARD = format_card_number(DEFAULT_PROVINCE, 1)
DIGIT_POSITIONS = range(2, len(CARD))  # everything after "GH", including the check digit


def replace(card: str, position: int, char: str) -> str:
    return card[:position] + char + card[position + 1 :]


def swap(card: str, position: int) -> str:
    return card[:position] + card[position + 1] + card[position] + card[position + 2 :]


def test_luhn_matches_the_textbook_example():
    assert luhn_check_digit("7992739871") == "3"


def test_card_number_is_prefix_province_padded_serial_and_check_digit():
    assert CARD == "GH520000000001" + luhn_check_digit("520000000001")
    assert len(CARD) == 15
    assert is_valid_card_number(CARD)


def test_display_groups_in_fours_and_round_trips():
    shown = display(CARD)
    assert shown == f"{CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:]}"
    assert normalise_card_number(shown) == CARD


def test_grouped_and_lowercase_input_is_accepted():
    assert is_valid_card_number(display(CARD).lower())
    assert normalise_card_number("  " + CARD.lower() + " ") == CARD


@pytest.mark.parametrize("serial", [0, 1, 42, 9_876_543_210, 9_999_999_999])
def test_every_formatted_number_validates(serial):
    assert is_valid_card_number(format_card_number("52", serial))


def test_every_single_digit_substitution_is_detected():
    for card in (CARD, format_card_number("11", 9_876_543_210)):
        for position in DIGIT_POSITIONS:
            for digit in "0123456789":
                if digit != card[position]:
                    assert not is_valid_card_number(replace(card, position, digit)), (card, position, digit)


def test_adjacent_transpositions_are_detected_except_09_and_90():
    card = format_card_number("52", 1_234_567_890)
    blind_spots_seen = 0
    for position in range(2, len(card) - 1):
        swapped = swap(card, position)
        pair = card[position : position + 2]
        if swapped == card or swapped[2] not in "12345678":
            continue  # identical digits, or a province code that is refused on its own
        if pair in ("09", "90"):
            assert is_valid_card_number(swapped), "Luhn is documented not to catch 09 <-> 90"
            blind_spots_seen += 1
        else:
            assert not is_valid_card_number(swapped), (card, position)
    assert blind_spots_seen == 1


def test_the_09_90_blind_spot_is_real():
    card = format_card_number("52", 90)
    assert card[11:13] == "09"
    swapped = swap(card, 11)
    assert swapped != card
    assert is_valid_card_number(swapped)


@pytest.mark.parametrize(
    "raw",
    ["", "GH52000000000", "XX520000000001" + "0", "GH0200000000010", "GH52-0000-0001-0", "GH5200000000O10"],
)
def test_malformed_numbers_are_invalid(raw):
    assert not is_valid_card_number(raw)


def test_display_refuses_an_invalid_number():
    with pytest.raises(ValueError):
        display(replace(CARD, 5, "9" if CARD[5] != "9" else "8"))


@pytest.mark.parametrize(
    ("province", "serial"), [("5", 1), ("520", 1), ("02", 1), ("52", -1), ("52", 10**10), ("52", True)]
)
def test_format_refuses_bad_province_or_serial(province, serial):
    with pytest.raises(ValueError):
        format_card_number(province, serial)
