"""Courses' settings: the common ones plus the ticket signing key and the attendance rules."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.config import Settings


@dataclass(frozen=True)
class CoursesSettings(Settings):
    code_secret: str = ""  # base64, signs ticket QR codes; generated locally when empty
    no_show_limit: int = 3  # a term's default: no-shows that block new bookings for the rest of it
    checkin_opens_minutes: int = 30  # venue staff may check people in this long before a session
    profile_timeout: int = 5  # seconds, asking enrolment for a member's sex and birth year


SETTINGS = CoursesSettings
