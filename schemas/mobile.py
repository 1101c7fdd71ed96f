"""Mainland China mobile numbers, the member's login and contact channel."""

from __future__ import annotations

import re
import unicodedata

ERROR_CODE = "mobile.invalid"

_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_SEPARATORS = re.compile(r"[\s\-]+")


class MobileError(ValueError):
    def __init__(self, code: str = ERROR_CODE) -> None:
        super().__init__(code)
        self.code = code


def normalise(raw: str) -> str:
    # NFKC folds full-width digits and "＋" typed with a Chinese input method.
    number = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    if number.startswith("+86"):
        number = number[3:]
    elif number.startswith("0086"):
        number = number[4:]
    elif number.startswith("86") and len(number) == 13:
        # A bare "86" is only a country code when eleven digits follow; no mobile starts with 8.
        number = number[2:]
    if not _MOBILE.fullmatch(number):
        raise MobileError()
    return number


def is_valid(raw: str) -> bool:
    try:
        normalise(raw)
    except MobileError:
        return False
    return True


def mask(mobile: str) -> str:
    try:
        number = normalise(mobile)
    except MobileError:
        return "*" * len(mobile)
    return number[:3] + "****" + number[-4:]
