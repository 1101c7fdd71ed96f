"""Where a branch sits in the union's tree, and whether an admin's subtree covers it.

Enrolment owns the tree. An admin's token names the units they manage; an object another service
keeps (a station, a merchant, a course) records the path of the branch it belongs to, learned once
when an admin creates it: the service asks enrolment, passing the admin's own token on, so enrolment
also checks that the branch is in that admin's subtree. After that every check is local.
"""

from __future__ import annotations

from collections.abc import Iterable

import requests

from .domain import NotFound, Unavailable


class Units:
    def __init__(self, enrolment_url: str, *, timeout: float = 5.0, session: requests.Session | None = None):
        self.base_url = enrolment_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()

    def path(self, branch_id: str, admin_token: str) -> list[str]:
        """The branch's ancestry, federation first and the branch last, if the admin may see it."""
        found = self._get(f"/api/v1/branches/{requests.utils.quote(branch_id, safe='')}", admin_token)
        return list(found["path"])

    def subtree(self, branch_id: str, admin_token: str) -> dict[str, list[str]]:
        """The branch and every unit below it, each id with its path, if the admin may see the branch.

        Enrolment lists the admin's own subtree, so a branch outside it is absent as with ``path``.
        """
        below = {
            unit["id"]: list(unit["path"])
            for unit in self._get("/api/v1/branches", admin_token)
            if branch_id in unit["path"]
        }
        if branch_id not in below:
            raise NotFound("branch.not_found")
        return below

    def _get(self, path: str, admin_token: str):
        try:
            response = self.session.get(
                f"{self.base_url}{path}",
                headers={"Authorization": f"Bearer {admin_token}"},
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise Unavailable("enrolment.unavailable") from error
        if response.status_code in (403, 404):
            # Outside the admin's subtree reads as absent, as enrolment itself answers.
            raise NotFound("branch.not_found")
        if response.status_code != 200:
            raise Unavailable("enrolment.unavailable")
        try:
            return response.json()
        except ValueError as error:  # a proxy's error page with a 200, not enrolment's answer
            raise Unavailable("enrolment.unavailable") from error


def in_scope(branch_path: Iterable[str] | None, admin_units: Iterable[str]) -> bool:
    """An admin manages an object when one of their units is the object's branch or above it."""
    path = set(branch_path or ())
    return any(unit in path for unit in admin_units)
