"""A service's timed jobs run in its worker, each on its own interval, with a heartbeat."""

from __future__ import annotations

import threading

from events import metrics
from services.common.config import Settings
from services.common.worker import Job, run_jobs
from services.registry import SERVICES


def test_each_job_runs_at_once_then_on_its_interval_and_beats(monkeypatch):
    stop = threading.Event()
    runs: list[str] = []

    def quick(_settings, _db, _redis) -> int:
        runs.append("quick")
        if runs.count("quick") == 3:
            stop.set()
        return 1

    slow = Job("slow", 3600, lambda *_: runs.append("slow") or 0)
    monkeypatch.setattr(threading.Event, "wait", lambda self, timeout=None: self.is_set())

    run_jobs(Settings("courses"), None, [Job("quick", 0, quick), slow], stop)

    assert runs.count("quick") == 3
    assert runs.count("slow") == 1  # due again only an hour later
    beat = metrics.LOOP_HEARTBEAT.labels("courses", "job:quick")._value.get()
    assert beat > 0


def test_courses_and_stations_declare_their_jobs_and_the_others_have_none():
    jobs = {name: [job.name for job in s.optional_part("jobs", [])] for name, s in SERVICES.items()}

    assert jobs["courses"] == ["mark_no_shows"]
    assert jobs["stations"] == ["mark_missed", "refresh_opening", "upgrade_finder"]
    assert jobs["enrolment"] == [] and jobs["merchants"] == []
