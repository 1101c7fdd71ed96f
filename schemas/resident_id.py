"""Resident identity number (居民身份证号码) as defined by GB 11643-1999.

Only the structure the standard guarantees is checked: a full GB/T 2260 region table changes every
year as counties merge, and an outdated table would turn away real members, so the region check is
limited to the province digit.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Literal

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

ERROR_CODES = (
    "resident_id.length",
    "resident_id.format",
    "resident_id.legacy_15",
    "resident_id.region",
    "resident_id.birth_date",
    "resident_id.checksum",
)

EARLIEST_BIRTH_DATE = date(1900, 1, 1)

# Birth dates are civil dates in China; judging "the future" by the server's UTC clock would refuse
# a newborn's number for the first eight hours of their birthday.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")

_FIRST17 = re.compile(r"[0-9]{17}")
_EIGHTEEN = re.compile(r"[0-9]{17}[0-9X]")
_LEGACY_15 = re.compile(r"[0-9]{15}")
_WHITESPACE = re.compile(r"\s+")

Sex = Literal["male", "female"]


class ResidentIdError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str
    region_code: str
    birth_date: date
    sex: Sex


def compute_check_char(first17: str) -> str:
    if not _FIRST17.fullmatch(first17):
        raise ValueError("expected the first 17 digits of a resident identity number")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalise(raw: str) -> str:
    # NFKC folds the full-width digits and "Ｘ" that Chinese input methods often produce.
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", raw)).upper()


def parse(raw: str, *, today: date | None = None) -> ResidentId:
    number = normalise(raw)
    if _LEGACY_15.fullmatch(number):
        # Holders of 15-digit cards were all issued 18-digit numbers; ask for that rather than
        # upgrading it ourselves, because the check character cannot be verified on the old number.
        raise ResidentIdError("resident_id.legacy_15")
    if len(number) != 18:
        raise ResidentIdError("resident_id.length")
    if not _EIGHTEEN.fullmatch(number):
        raise ResidentIdError("resident_id.format")

    region_code = number[:6]
    if region_code[0] not in "12345678":
        raise ResidentIdError("resident_id.region")

    birth_date = _birth_date(number[6:14], today or datetime.now(CHINA_STANDARD_TIME).date())

    if compute_check_char(number[:17]) != number[17]:
        raise ResidentIdError("resident_id.checksum")

    sex: Sex = "male" if int(number[16]) % 2 else "female"
    return ResidentId(number=number, region_code=region_code, birth_date=birth_date, sex=sex)


def is_valid(raw: str) -> bool:
    try:
        parse(raw)
    except ResidentIdError:
        return False
    return True


def mask(number: str) -> str:
    number = normalise(number)
    if len(number) < 18:
        # Anything shorter is not a number we accepted; hide it all rather than leak most of it.
        return "*" * len(number)
    return number[:3] + "*" * 11 + number[-4:]


def _birth_date(yyyymmdd: str, today: date) -> date:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        raise ResidentIdError("resident_id.birth_date") from None
    if born < EARLIEST_BIRTH_DATE or born > today:
        raise ResidentIdError("resident_id.birth_date")
    return born
