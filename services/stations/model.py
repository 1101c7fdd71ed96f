"""Stations' domain objects and rules: who may register and manage a station, the rota, check-in
rules, lockers.

No Flask, SQL, Redis or Kafka here; use cases (service.py, registration.py, duty.py, shifts.py,
lockers.py) bring the records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from services.common.auth import ADMIN, COORDINATOR, Principal
from services.common.domain import Forbidden, Invalid
from services.common.units import in_scope

AMENITIES = (
    "water",
    "microwave",
    "fridge",
    "ac_heating",
    "charging",
    "first_aid",
    "toilet",
    "lockers",
    "ebike_parking",
    "truck_parking",
)
DUTY_KINDS = ("open", "close")
LOG_KINDS = ("lights", "ac", "cleaning", "note")
ISSUE_CATEGORIES = ("water", "power", "ac_heating", "cleanliness", "equipment", "safety", "lockers", "other")
EARTH_RADIUS_M = 6_371_008.8  # the mean radius, as Redis GEO uses (6372797.56 there; within 0.03%)


@dataclass
class Station:
    id: str
    name: str
    address: str
    lat: float
    lng: float
    branch_id: str
    branch_path: tuple[str, ...]
    amenities: list[str]
    opening_hours: str
    lockers: int
    qr_generation: int
    status: str = "closed"  # live: open while a volunteer is checked in
    status_at: datetime | None = None
    on_duty_group: str | None = None  # the name of the duty group of the volunteer checked in
    coordinators: tuple[str, ...] = field(default_factory=tuple)


def staff_id(principal: Principal) -> str | None:
    subject = principal.subject
    return subject.split(":", 1)[1] if subject.startswith("staff:") else None


def may_administer(station: Station, principal: Principal) -> bool:
    """Admins over the station's branch: they alone choose who runs it."""
    return ADMIN in principal.roles and in_scope(station.branch_path, principal.units)


def may_manage(station: Station, principal: Principal) -> bool:
    """Admins over the station's branch, and the coordinators this service assigned to it.

    A coordinator's token may list station ids; they grant nothing: the assignment recorded here does.
    """
    if may_administer(station, principal):
        return True
    return COORDINATOR in principal.roles and staff_id(principal) in station.coordinators


@dataclass(frozen=True)
class RegistrationGrant:
    """An admin's leave for a coordinator to register stations at a branch or any branch below it."""

    id: str
    staff_id: str
    branch_id: str
    branch_path: tuple[str, ...]
    granted_by: str
    granted_at: datetime
    revoked_by: str | None = None
    revoked_at: datetime | None = None


def may_register(branch_path: tuple[str, ...] | None, grants: list[RegistrationGrant]) -> bool:
    """A coordinator registers at a branch when one of their live grants is for it or a branch above.

    Like may_manage, the grants recorded here decide; a role, unit or station claim in a token does not.
    """
    return in_scope(branch_path, [g.branch_id for g in grants if g.revoked_at is None])


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance (haversine), as Redis GEO measures it."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def check_amenities(amenities: list[str], field: str = "amenities") -> list[str]:
    unknown = [a for a in amenities if a not in AMENITIES]
    if unknown:
        raise Invalid("station.amenity_unknown", field=field, amenity=unknown[0])
    return sorted(set(amenities))


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def rotation(first_monday: date, weeks: int, group_ids: list[str]) -> list[tuple[date, str]]:
    """Each week's Monday and its duty group: the groups take a week each, in turn."""
    if not group_ids:
        raise Invalid("rota.no_groups", field="group_ids")
    return [(first_monday + timedelta(weeks=i), group_ids[i % len(group_ids)]) for i in range(weeks)]


@dataclass(frozen=True)
class Duty:
    id: str
    station_id: str
    group_id: str
    week: str
    day: date
    kind: str
    at: datetime
    member_id: str | None  # set when a swap handed this duty to one volunteer
    status: str  # scheduled, done, missed
    flagged: bool


def may_take(duty: Duty, member_id: str, group_members: set[str]) -> bool:
    """A duty is the swap recipient's if it was swapped, else anyone's in its group."""
    return duty.member_id == member_id if duty.member_id else member_id in group_members


def check_within(station: Station, lat: float | None, lng: float | None, radius_m: int) -> None:
    if lat is None or lng is None:
        return
    if distance_m(station.lat, station.lng, lat, lng) > radius_m:
        raise Forbidden("checkin.too_far", radius_m=radius_m)


def minutes_between(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds() // 60))
