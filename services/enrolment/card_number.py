"""Member card numbers, e.g. "GH5200000001237", shown as "GH52 0000 0001 237".

"GH" (工会) + 2-digit province code (GB/T 2260, "52" = Guizhou) + 10-digit serial + 1 Luhn check
digit over the 12 digits before it. Members read the number aloud to hotline staff and type it into
merchant tills, so a check digit turns most slips into an immediate "invalid number" instead of a
lookup that lands on somebody else's card.

Luhn detects every single-digit substitution and every transposition of two adjacent digits except
09 <-> 90, because doubling maps 0 to 0 and 9 to 9. It also misses the twin errors 22 <-> 55,
33 <-> 66 and 44 <-> 77. That is the accepted trade-off for a check digit staff can verify by hand.
"""

from __future__ import annotations

import re

PREFIX = "GH"
DEFAULT_PROVINCE = "52"
SERIAL_DIGITS = 10

_PROVINCE = re.compile(r"[1-8][0-9]")
_CARD_NUMBER = re.compile(rf"{PREFIX}([1-8][0-9])([0-9]{{{SERIAL_DIGITS}}})([0-9])")
_SPACES = re.compile(r"\s+")


def luhn_check_digit(digits: str) -> str:
    if not digits.isascii() or not digits.isdigit():
        raise ValueError("Luhn is defined over decimal digits only")
    total = 0
    # Counting from the right, the digit next to the (future) check digit is doubled first.
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def format_card_number(province: str, serial: int) -> str:
    if not _PROVINCE.fullmatch(province):
        raise ValueError(f"province code must be two digits from 10 to 89, got {province!r}")
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 <= serial < 10**SERIAL_DIGITS:
        raise ValueError(f"serial must be an integer from 0 to {10**SERIAL_DIGITS - 1}")
    body = f"{province}{serial:0{SERIAL_DIGITS}d}"
    return f"{PREFIX}{body}{luhn_check_digit(body)}"


def normalise_card_number(raw: str) -> str:
    compact = _SPACES.sub("", raw).upper()
    match = _CARD_NUMBER.fullmatch(compact)
    if match is None:
        raise ValueError("not a member card number")
    province, serial, check = match.groups()
    if luhn_check_digit(province + serial) != check:
        raise ValueError("member card number check digit does not match")
    return compact


def is_valid_card_number(raw: str) -> bool:
    try:
        normalise_card_number(raw)
    except ValueError:
        return False
    return True


def display(raw: str) -> str:
    compact = normalise_card_number(raw)
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
