"""CSV that staff open in a spreadsheet program: UTF-8 with a BOM, so Chinese names read right, and
no cell that the program would run as a formula."""

from __future__ import annotations

BOM = "\ufeff"

# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...) leaks data when
# clicked, =cmd|... ran programs). OWASP's rule: prefix a single quote, so the cell reads as text.
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_LEADS) else text
