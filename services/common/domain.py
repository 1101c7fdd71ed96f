"""Errors the domain raises, in the domain's words. The HTTP layer maps each kind to a status once.

Every error carries a stable code (looked up in services.common.i18n for its text) and optional
parameters for that text.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "invalid"

    def __init__(self, code: str | None = None, /, **params):
        self.code = code or self.code
        self.params = params
        super().__init__(self.code)


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class Gone(DomainError):
    code = "gone"


class Forbidden(DomainError):
    code = "forbidden"


class Invalid(DomainError):
    """A business rule refused otherwise well-formed input; ``field`` names the input at fault."""

    def __init__(self, code: str | None = None, /, *, field: str | None = None, **params):
        super().__init__(code, **params)
        self.field = field


class RateLimited(DomainError):
    code = "too_many_requests"

    def __init__(self, code: str | None = None, /, *, retry_after: int = 60, **params):
        super().__init__(code, **params)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """Something we depend on (WeChat, another service) does not answer; try again later."""

    code = "service_unavailable"
