"""docs/security.md names the test behind each defence: every one it names must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "security.md"
TIERS = ("unit", "api", "integration", "e2e", "fuzz")


def _references() -> list[tuple[str, str | None]]:
    """(test file, test function or None) for every `path.py::name` / `::name` / `path.py` in the doc."""
    found, current = [], None
    for token in re.findall(r"`([^`]+)`", DOC.read_text(encoding="utf-8")):
        path, _, name = token.partition("::")
        if path.endswith(".py") and path.split("/")[0] in TIERS:
            current = path
        elif path or not name:
            continue
        found.append((current, name or None))
    return found


def test_the_security_doc_names_tests_that_exist():
    references = _references()
    assert len(references) > 40  # the parser found the tables
    missing = []
    for path, name in references:
        target = ROOT / "tests" / path
        if not target.exists():
            missing.append(path)
        elif name and not re.search(rf"^def {re.escape(name)}\(", target.read_text(), re.MULTILINE):
            missing.append(f"{path}::{name}")
    assert missing == []


def test_every_owasp_api_risk_of_2023_has_a_row():
    rows = re.findall(r"^\| (API\d+) \|", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    assert rows == [f"API{n}" for n in range(1, 11)]
