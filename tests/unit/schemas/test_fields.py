import math
import re

import pytest
from marshmallow import Schema, ValidationError

from schemas import mobile, resident_id
from schemas.field_messages import FIELD_MESSAGES
from schemas.fields import (
    YEARS,
    CNMobile,
    Day,
    FullMatch,
    Latitude,
    Longitude,
    Moment,
    MoneyFen,
    ResidentIdNumber,
)

VALID_ID = "11010519491231002X"


class EnrolmentForm(Schema):
    mobile = CNMobile()
    id_number = ResidentIdNumber()
    fee = MoneyFen()
    lat = Latitude()
    lng = Longitude()


def errors_for(**data) -> dict:
    with pytest.raises(ValidationError) as caught:
        EnrolmentForm().load(data)
    return caught.value.messages


def test_valid_form_loads_normalised_values():
    loaded = EnrolmentForm().load(
        {
            "mobile": "+86 138 1234 5678",
            "id_number": VALID_ID.lower(),
            "fee": 1500,
            "lat": 26.58,
            "lng": 106.71,
        }
    )
    assert loaded == {
        "mobile": "13812345678",
        "id_number": VALID_ID,
        "fee": 1500,
        "lat": 26.58,
        "lng": 106.71,
    }


def test_resident_id_errors_are_reported_as_codes():
    assert errors_for(id_number=VALID_ID[:-1] + "1") == {"id_number": ["resident_id.checksum"]}
    assert errors_for(id_number="110105491231002") == {"id_number": ["resident_id.legacy_15"]}


def test_non_string_resident_id_is_a_format_error():
    assert errors_for(id_number=110105194912310021) == {"id_number": ["resident_id.format"]}


def test_mobile_errors_are_reported_as_codes_even_for_non_strings():
    assert errors_for(mobile="12812345678") == {"mobile": ["mobile.invalid"]}
    assert errors_for(mobile=13812345678) == {"mobile": ["mobile.invalid"]}


@pytest.mark.parametrize("amount", [0, 1, 9_999_999])
def test_money_accepts_non_negative_whole_fen(amount):
    assert EnrolmentForm().load({"fee": amount}) == {"fee": amount}


@pytest.mark.parametrize("amount", [-1, 12.5, 12.0, "1250", True])
def test_money_refuses_negative_fractional_textual_and_boolean_amounts(amount):
    assert errors_for(fee=amount) == {"fee": ["money.invalid"]}


def test_money_null_is_refused_rather_than_taken_as_zero():
    assert "fee" in errors_for(fee=None)


@pytest.mark.parametrize(("lat", "lng"), [(-90, -180), (90, 180), (0, 0), (26.58, 106.71)])
def test_coordinates_on_and_inside_the_bounds_are_accepted(lat, lng):
    assert EnrolmentForm().load({"lat": lat, "lng": lng}) == {"lat": lat, "lng": lng}


@pytest.mark.parametrize("lat", [-90.0001, 90.5, "north", math.nan, math.inf])
def test_latitude_out_of_range_or_not_a_number_uses_the_latitude_code(lat):
    assert errors_for(lat=lat) == {"lat": ["geo.latitude"]}


@pytest.mark.parametrize("lng", [-180.5, 181, "east", math.nan])
def test_longitude_out_of_range_or_not_a_number_uses_the_longitude_code(lng):
    assert errors_for(lng=lng) == {"lng": ["geo.longitude"]}


def test_every_field_error_code_has_english_and_chinese_text():
    codes = {
        *resident_id.ERROR_CODES,
        mobile.ERROR_CODE,
        "money.invalid",
        "geo.latitude",
        "geo.longitude",
        YEARS.error,
    }
    assert set(FIELD_MESSAGES) == codes
    for code, texts in FIELD_MESSAGES.items():
        assert set(texts) == {"en", "zh-CN"}, code
        assert texts["en"].strip(), code
        assert re.search(r"[\u4e00-\u9fff]", texts["zh-CN"]), code


class Dated(Schema):
    day = Day()
    at = Moment()


@pytest.mark.parametrize(
    "data",
    [
        {"day": "1999-12-31"},
        {"day": "2100-01-01"},
        {"day": "9999-12-31"},  # the day after it is no Python date
        {"at": "9999-12-31T23:59:59-05:00"},  # the year 10000 in UTC: no overflow, a field error
        {"at": "0001-01-01T00:00:00+08:00"},
    ],
)
def test_days_and_times_outside_the_years_are_field_errors(data):
    with pytest.raises(ValidationError) as refused:
        Dated().load(data)
    assert refused.value.messages == {next(iter(data)): ["date.out_of_range"]}


def test_days_and_times_inside_the_years_load_as_they_are():
    loaded = Dated().load({"day": "2000-01-01", "at": "2099-12-31T23:00:00-05:00"})
    assert loaded["day"].isoformat() == "2000-01-01"
    assert loaded["at"].isoformat() == "2099-12-31T23:00:00-05:00"


HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


@pytest.mark.parametrize("value", ["09:00\n", "09:00 ", " 09:00"])
def test_a_full_match_refuses_what_comes_before_or_after_the_pattern(value):
    with pytest.raises(ValidationError):
        FullMatch(HHMM)(value)


def test_a_full_match_takes_a_value_the_pattern_matches_whole():
    assert FullMatch(HHMM)("23:59") == "23:59"
