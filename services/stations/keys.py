"""Every Redis key stations uses, built here and nowhere else."""

PREFIX = "stations"


def geo() -> str:
    """A GEO set of every station, member = station id."""
    return f"{PREFIX}:geo:all"


def open_geo(amenity: str | None = None) -> str:
    """A GEO set of the stations whose hours say open now: every one, or those offering ``amenity``.
    Each is a subset of ``geo()`` with the same scores (positions)."""
    return f"{PREFIX}:geo:open" if amenity is None else f"{PREFIX}:geo:open:{amenity}"


def projection_version() -> str:
    """Which shape of the finder's projection Redis holds (finder.PROJECTION_VERSION when current)."""
    return f"{PREFIX}:finder:version"


def amenity(name: str) -> str:
    """The ids of the stations that offer one amenity."""
    return f"{PREFIX}:amenity:{name}"


def open_now() -> str:
    """The ids of the stations whose opening hours say open at this moment."""
    return f"{PREFIX}:hours:open"


def transitions() -> str:
    """A sorted set: station id scored by the epoch second its opening-hours state next changes."""
    return f"{PREFIX}:hours:transitions"


def card(station_id: str) -> str:
    """What the finder shows of one station (JSON): name, address, amenities, hours, live status."""
    return f"{PREFIX}:card:{station_id}"


def live_published() -> str:
    """Until when the cards' live parts were brought up to the database (shifts.publish_live)."""
    return f"{PREFIX}:finder:live_published"


def pickup_attempts(station_id: str, who: str) -> str:
    return f"{PREFIX}:pickup:{station_id}:{who}"


def daily_pickups(who: str) -> str:
    """A courier's pickups tried at any station today (lockers.DAILY_PICKUPS)."""
    return f"{PREFIX}:pickups:{who}"
