"""Marshmallow fields the services' schemas share.

Every error message is a code such as "resident_id.checksum", never prose: the HTTP layer looks the
code up in FIELD_MESSAGES and answers in the member's language (zh-CN or en).
"""

from __future__ import annotations

import typing

from marshmallow import ValidationError, fields, validate

from schemas import mobile, resident_id


class CNMobile(fields.String):
    default_error_messages = {"invalid": mobile.ERROR_CODE, "invalid_utf8": mobile.ERROR_CODE}

    def _deserialize(
        self, value: typing.Any, attr: str | None, data: typing.Any, **kwargs: typing.Any
    ) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return mobile.normalise(text)
        except mobile.MobileError as error:
            raise ValidationError(error.code) from None


class ResidentIdNumber(fields.String):
    default_error_messages = {"invalid": "resident_id.format", "invalid_utf8": "resident_id.format"}

    def _deserialize(
        self, value: typing.Any, attr: str | None, data: typing.Any, **kwargs: typing.Any
    ) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return resident_id.parse(text).number
        except resident_id.ResidentIdError as error:
            raise ValidationError(error.code) from None


class MoneyFen(fields.Integer):
    """An amount in fen (分, 1/100 yuan).

    Strict so that 12.5 or "1250" from a client is refused instead of silently truncated or
    coerced: a price that was meant in yuan must not pass as fen.
    """

    default_error_messages = {"invalid": "money.invalid", "too_large": "money.invalid"}

    def __init__(self, **kwargs: typing.Any) -> None:
        validators = [validate.Range(min=0, error="money.invalid"), *_as_list(kwargs.pop("validate", None))]
        super().__init__(strict=True, validate=validators, **kwargs)


class FullMatch(validate.Regexp):
    """A pattern the whole value must match.

    marshmallow's Regexp uses re.match, whose ``$`` also matches before a final newline: "09:00"
    and a newline passed an HH:MM pattern into a String(5) column. Write the pattern with ``^`` and
    ``$`` all the same, so that the OpenAPI document's ``pattern`` (a search, in JSON Schema) says
    what this validator does.
    """

    def __call__(self, value: typing.Any) -> typing.Any:
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class _BoundedFloat(fields.Float):
    code: typing.ClassVar[str]
    minimum: typing.ClassVar[float]
    maximum: typing.ClassVar[float]

    def __init__(self, **kwargs: typing.Any) -> None:
        validators = [
            validate.Range(min=self.minimum, max=self.maximum, error=self.code),
            *_as_list(kwargs.pop("validate", None)),
        ]
        super().__init__(validate=validators, **kwargs)


class Latitude(_BoundedFloat):
    code = "geo.latitude"
    default_error_messages = dict.fromkeys(("invalid", "too_large", "special"), code)
    minimum = -90
    maximum = 90


class Longitude(_BoundedFloat):
    code = "geo.longitude"
    default_error_messages = dict.fromkeys(("invalid", "too_large", "special"), code)
    minimum = -180
    maximum = 180


# The years a day or a time from a client may name. Terms, offers, vouchers, campaigns, rotas and
# reports fall well inside them, and every engine and driver here reads them back: PostgreSQL
# stores the year 10000 that 9999-12-31T23:00-05:00 is, which psycopg cannot load (one such offer
# failed every sale of its merchant), and the day after 9999-12-31 is no Python date.
YEARS = validate.Range(min=2000, max=2099, error="date.out_of_range")


class Day(fields.Date):
    """A calendar day, ISO 8601, in ``YEARS``."""

    def _deserialize(self, value: typing.Any, attr: str | None, data: typing.Any, **kwargs: typing.Any):
        day = super()._deserialize(value, attr, data, **kwargs)
        YEARS(day.year)
        return day


class Moment(fields.AwareDateTime):
    """A time with its UTC offset, ISO 8601, its year as written in ``YEARS`` (in UTC it may be a
    day either side, which every engine holds)."""

    def _deserialize(self, value: typing.Any, attr: str | None, data: typing.Any, **kwargs: typing.Any):
        moment = super()._deserialize(value, attr, data, **kwargs)
        YEARS(moment.year)
        return moment


def _as_list(validators: typing.Any) -> list[typing.Any]:
    if validators is None:
        return []
    if callable(validators):
        return [validators]
    return list(validators)
