"""Validators the merchants' schemas share."""

from marshmallow import validate

from schemas.fields import FullMatch

NAME = validate.Length(min=1, max=120)
# Fen of one sale (a cap, a step, an amount off, a voucher), stored as INTEGER: ¥21,474,836.47 at most.
SALE_FEN = validate.Range(min=1, max=2**31 - 1)
# A budget, in fen or a count, stored as BIGINT: up to ¥1,000,000,000 a campaign or a merchant.
BUDGET = validate.Range(min=1, max=10**11)
# Digits 0-9, not \d, which is any script's digit: time.fromisoformat, which reads the hours back
# at every sale and search, takes ASCII digits only.
HHMM = FullMatch(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
# A month of a statement, YYYY-MM, in the years a day may name (schemas.fields.YEARS).
MONTH = FullMatch(r"^20[0-9]{2}-(0[1-9]|1[0-2])$", error="month.invalid")
