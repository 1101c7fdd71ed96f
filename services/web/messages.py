"""Problem codes of the web service itself (the pages' own text is in services/web/strings.py)."""

MESSAGES: dict[str, dict[str, str]] = {}
