"""What the demo seeds of the services other than enrolment share (``unionhub seed``, local runs
only): the bootstrap admin's token and the union tree, asked of enrolment's API as an admin would,
and demo points around a city centre."""

from __future__ import annotations

import math
import os

import requests


def admin_token(enrolment_url: str) -> str:
    response = requests.post(
        f"{enrolment_url}/api/v1/auth/staff/login",
        json={"username": "admin", "password": os.environ.get("UNIONHUB_ADMIN_PASSWORD", "unionhub-admin")},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def branches(enrolment_url: str, token: str) -> dict[str, dict]:
    """Every unit by name, each with its ``path`` (the ancestry other services scope admins with)."""
    response = requests.get(
        f"{enrolment_url}/api/v1/branches", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    response.raise_for_status()
    return {unit["name"]: unit for unit in response.json()}


def staff_id(enrolment_url: str, token: str, username: str) -> str | None:
    """The id of one of enrolment's demo logins (e.g. ``station-demo``), to assign it here."""
    response = requests.get(
        f"{enrolment_url}/api/v1/staff", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    response.raise_for_status()
    return next((s["id"] for s in response.json() if s["username"] == username), None)


def around(centre: list[float], n: int, count: int, *, inner: float, step: float) -> tuple[float, float]:
    """The n-th of ``count`` points on three rings around a city centre (radii in degrees), so demo
    stores and stations do not sit on top of each other."""
    angle = 2 * math.pi * n / count
    radius = inner + step * (n % 3)
    return round(centre[0] + radius * math.sin(angle), 6), round(centre[1] + radius * math.cos(angle), 6)
