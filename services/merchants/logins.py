"""Till logins, which enrolment issues: merchants asks for one with the admin's own token.

Merchants holds no secret of enrolment's. Enrolment checks that the admin may create the login (a
till login for a unit in their subtree) and answers its staff id; which stores that login serves is
merchants' own record (tables.till_staff), and the login's token carries no claim that matters here.
"""

from __future__ import annotations

import requests

from services.common.domain import Conflict, Forbidden, Unavailable
from services.common.idempotency import HEADER

TILL = "till"


class Logins:
    def __init__(self, enrolment_url: str, *, timeout: float = 5.0, session: requests.Session | None = None):
        self.url = enrolment_url.rstrip("/") + "/api/v1/staff"
        self.timeout = timeout
        self.session = session or requests.Session()

    def create_till(self, admin_token: str, *, username: str, password: str, unit_id: str, key: str) -> str:
        """The new login's staff id; asked again with the same Idempotency-Key ``key`` (and details),
        enrolment answers the id it made the first time."""
        try:
            response = self.session.post(
                self.url,
                json={"username": username, "password": password, "roles": [TILL], "unit_id": unit_id},
                headers={"Authorization": f"Bearer {admin_token}", HEADER: key},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise Unavailable("enrolment.unavailable") from error
        if response.status_code == 201:
            try:
                return response.json()["id"]
            except (ValueError, KeyError, TypeError) as error:  # not enrolment's answer: a proxy's page
                raise Unavailable("enrolment.unavailable") from error
        if response.status_code == 409:
            raise Conflict("staff.username_taken")
        if 400 <= response.status_code < 500:
            raise Forbidden("staff.enrolment_refused")
        raise Unavailable("enrolment.unavailable")
