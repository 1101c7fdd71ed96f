"""What courses' worker does on a timer."""

from services.common.worker import Job

from . import attendance

JOBS = [
    # A session's no-shows are known once it ends; a minute later is soon enough to block booking.
    Job("mark_no_shows", 60, lambda _settings, db, _redis: attendance.mark_no_shows(db.unit_of_work())),
]
