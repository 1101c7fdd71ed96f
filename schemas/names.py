"""Personal names as lists and exports show them: the first character only."""

from __future__ import annotations

import unicodedata

# At most this many stars, whatever the name's length: the length of a name narrows down who it is.
MAX_STARS = 2


def mask(name: str | None) -> str | None:
    """张三 → 张*, 欧阳娜娜 → 欧**; the full name is shown only behind the audited personal-data read."""
    if name is None:
        return None
    # NFC, so a character typed as a base and a combining mark is kept or hidden whole.
    name = unicodedata.normalize("NFC", name).strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * min(len(name) - 1, MAX_STARS)
