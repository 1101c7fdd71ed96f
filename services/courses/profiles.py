"""A member's sex and birth year, asked of enrolment with the member's own token, only when a
course's eligibility needs them (women only, an age range for adults). Courses keeps neither."""

from __future__ import annotations

from dataclasses import dataclass

import requests

from services.common.domain import Forbidden, Unavailable
from services.common.errors import Problem


@dataclass(frozen=True)
class Profile:
    sex: str | None
    birth_year: int | None


class Profiles:
    def __init__(self, enrolment_url: str, *, timeout: float, session: requests.Session | None = None):
        self.url = f"{enrolment_url.rstrip('/')}/api/v1/members/me"
        self.timeout = timeout
        self.session = session or requests.Session()

    def of(self, member_token: str) -> Profile:
        try:
            response = self.session.get(
                self.url, headers={"Authorization": f"Bearer {member_token}"}, timeout=self.timeout
            )
        except requests.RequestException as error:
            raise Unavailable("profile.unavailable") from error
        if response.status_code == 401:  # enrolment no longer takes the token: sign in again
            raise Problem(401, "token_invalid", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if response.status_code in (403, 404):
            # Enrolment holds no membership for this login now (moved by a dispute, erased): asking
            # again will not help, unlike a 503 saying "try again shortly".
            raise Forbidden("member.inactive")
        if response.status_code != 200:
            raise Unavailable("profile.unavailable")
        try:
            body = response.json()
            return Profile(body.get("sex"), body.get("birth_year"))
        except (ValueError, AttributeError) as error:  # not enrolment's answer: a proxy's page
            raise Unavailable("profile.unavailable") from error
