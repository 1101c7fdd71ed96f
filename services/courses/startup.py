"""What courses builds once per web process: the ticket signer and its clients of enrolment."""

from __future__ import annotations

from dataclasses import dataclass

from services.common import idempotency, local_secrets
from services.common.db import Database
from services.common.kit import Started
from services.common.signed_codes import CodeSigner
from services.common.units import Units

from .profiles import Profiles
from .settings import CoursesSettings


@dataclass
class Courses:
    settings: CoursesSettings
    tickets: CodeSigner
    idempotency_key: bytes
    units: Units
    profiles: Profiles


def start(settings: CoursesSettings, db: Database) -> Started:
    secret = local_secrets.secret(settings, "code_secret")
    return Started(
        extension=Courses(
            settings,
            CodeSigner(secret, purpose="course-ticket", prefix="T1"),
            idempotency.derive_secret(secret),
            Units(settings.enrolment_url),
            Profiles(settings.enrolment_url, timeout=settings.profile_timeout),
        )
    )
