"""What stations' worker does on a timer (``unionhub stations-tick`` does the same once, by hand)."""

from services.common.worker import Job

from . import finder, shifts

JOBS = [
    # Duties nobody took within the grace period become missed, and the coordinator hears of it.
    Job("mark_missed", 60, lambda settings, db, _redis: shifts.mark_missed(db.unit_of_work(), settings)),
    # Live states no request published: a station closed by a member event, a card write lost.
    Job("publish_live", 60, lambda _settings, db, client: shifts.publish_live(db, client)),
    # Stations whose opening hours changed state; finder requests refresh a few themselves meanwhile.
    Job("refresh_opening", 60, lambda _settings, _db, client: finder.refresh_due(client)),
    # A projection an earlier version wrote gets the sets this one searches: at the worker's start,
    # and again should Redis lose its data and be refilled (one GET when it is current).
    Job("upgrade_finder", 60, lambda _settings, _db, client: finder.upgrade(client)),
]
