"""Validators the merchants' schemas share."""

from marshmallow import validate

NAME = validate.Length(min=1, max=120)
POSITIVE_FEN = validate.Range(min=1, max=10**11)
HHMM = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$")
