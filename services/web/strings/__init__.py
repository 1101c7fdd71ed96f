"""The pages' own text in zh-CN and en, one module per page (shared: what every page uses). Errors
from the APIs come in the page's language already (the pages send Accept-Language); these are the
labels, buttons and hints around them."""

from __future__ import annotations

from . import admin, duty, join, shared, till

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"


def _merged(*pages) -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for page in pages:
        twice = merged.keys() & page.STRINGS.keys()
        if twice:  # one page's text would silently replace another's
            raise ValueError(f"strings defined twice: {sorted(twice)}")
        merged.update(page.STRINGS)
    return merged


# key: (zh-CN, en)
STRINGS = _merged(shared, join, till, duty, admin)


def language(requested: str | None, accept_language) -> str:
    """?lang= wins (the switch), then the browser's Accept-Language, then zh-CN."""
    if requested in LANGUAGES:
        return requested
    best = accept_language.best_match(("zh-CN", "zh", "en"), default=DEFAULT_LANGUAGE)
    return "en" if best == "en" else DEFAULT_LANGUAGE


def table(lang: str) -> dict[str, str]:
    index = LANGUAGES.index(lang)
    return {key: pair[index] for key, pair in STRINGS.items()}
