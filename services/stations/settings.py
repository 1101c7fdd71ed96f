"""Stations' settings: the common ones plus its code-signing secret and the duty rules' numbers."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.config import Settings


@dataclass(frozen=True)
class StationsSettings(Settings):
    # base64, signs the check-in codes on station posters. Left empty, a local run generates one.
    code_secret: str = ""
    # A volunteer who gives a location must be about this close to the station to check in.
    checkin_radius_m: int = 200
    # How long after a duty's time it is marked missed when nobody took it.
    shift_grace_minutes: int = 30
    # The finder's largest radius: a courier rides 10-15 minutes between stations, 20 km is generous.
    finder_max_radius_m: int = 20_000
    rota_max_weeks: int = 12


SETTINGS = StationsSettings
