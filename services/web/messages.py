"""Problem codes of the web service itself (the pages' own text is in services/web/strings/)."""

MESSAGES: dict[str, dict[str, str]] = {}
