from datetime import date

import pytest

from schemas.resident_id import (
    ERROR_CODES,
    ResidentId,
    ResidentIdError,
    compute_check_char,
    is_valid,
    mask,
    parse,
)

TODAY = date(2024, 6, 1)


def make_id(region: str = "520102", birth: str = "19900307", sequence: str = "123") -> str:
    first17 = region + birth + sequence
    return first17 + compute_check_char(first17)


def error_code(raw: str, today: date = TODAY) -> str:
    with pytest.raises(ResidentIdError) as caught:
        parse(raw, today=today)
    assert caught.value.code in ERROR_CODES
    return caught.value.code


def test_check_char_matches_the_worked_example_of_the_standard():
    assert compute_check_char("11010519491231002") == "X"


def test_check_char_refuses_anything_but_17_digits():
    with pytest.raises(ValueError):
        compute_check_char("1101051949123100")
    with pytest.raises(ValueError):
        compute_check_char("1101051949123100X")


def test_valid_guiyang_number_yields_region_birth_date_and_sex():
    number = make_id(sequence="123")
    assert parse(number, today=TODAY) == ResidentId(
        number=number, region_code="520102", birth_date=date(1990, 3, 7), sex="male"
    )


@pytest.mark.parametrize(
    ("sequence_digit", "sex"), [("1", "male"), ("3", "male"), ("0", "female"), ("8", "female")]
)
def test_sex_comes_from_the_parity_of_the_17th_digit(sequence_digit, sex):
    assert parse(make_id(sequence="00" + sequence_digit), today=TODAY).sex == sex


def test_lowercase_x_check_char_is_accepted_and_upper_cased():
    number = "11010519491231002X"
    parsed = parse(number.lower(), today=TODAY)
    assert parsed.number == number
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "female"


def test_spaces_and_full_width_digits_from_chinese_keyboards_are_normalised():
    number = make_id()
    typed = " " + number[:6] + " " + number[6:14] + " " + number[14:] + " "
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert parse(typed, today=TODAY).number == number
    assert parse(full_width, today=TODAY).number == number


def test_wrong_check_char_is_reported_as_checksum_error():
    number = make_id()
    wrong = "0" if number[-1] != "0" else "1"
    assert error_code(number[:-1] + wrong) == "resident_id.checksum"


def test_single_digit_typo_in_the_sequence_is_caught_by_the_checksum():
    number = make_id(sequence="123")
    assert error_code(number[:15] + "4" + number[16:]) == "resident_id.checksum"


def test_february_30th_is_not_a_birth_date():
    assert error_code(make_id(birth="19900230")) == "resident_id.birth_date"


def test_february_29th_is_valid_only_in_leap_years():
    assert parse(make_id(birth="20000229"), today=TODAY).birth_date == date(2000, 2, 29)
    assert error_code(make_id(birth="19000229")) == "resident_id.birth_date"


def test_birth_date_in_the_future_is_refused():
    assert error_code(make_id(birth="20240602"), today=TODAY) == "resident_id.birth_date"
    assert parse(make_id(birth="20240601"), today=TODAY).birth_date == TODAY


def test_birth_date_before_1900_is_refused():
    assert error_code(make_id(birth="18991231")) == "resident_id.birth_date"


def test_legacy_15_digit_number_is_refused_with_its_own_code():
    assert error_code("520102900307123") == "resident_id.legacy_15"


@pytest.mark.parametrize("raw", ["", "5201021990030712", "5201021990030712345", "52010219900307123XX"])
def test_numbers_of_other_lengths_are_a_length_error(raw):
    assert error_code(raw) == "resident_id.length"


@pytest.mark.parametrize(
    "raw", ["52010219900307A234", "5201021990030712Y4", "52010219900307123Y", "X20102199003071234"]
)
def test_letters_other_than_a_final_x_are_a_format_error(raw):
    assert error_code(raw) == "resident_id.format"


@pytest.mark.parametrize("region", ["020102", "920102"])
def test_region_code_must_start_with_a_province_digit_from_1_to_8(region):
    assert error_code(make_id(region=region)) == "resident_id.region"


def test_is_valid_mirrors_parse():
    assert is_valid(make_id())
    assert not is_valid(make_id()[:-1] + "Z")


def test_mask_keeps_first_three_and_last_four_characters():
    assert mask("11010519491231002x") == "110***********002X"
    assert len(mask("11010519491231002X")) == 18


def test_mask_hides_a_short_input_completely():
    assert mask("1234567") == "*******"
