"""A service's timed jobs run in its worker, each on its own interval, with a heartbeat."""

from __future__ import annotations

import logging
import threading
from types import SimpleNamespace

from events import metrics
from services.common import worker
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


def test_a_failing_job_is_logged_and_tried_at_its_next_turn_while_the_jobs_after_it_run(monkeypatch, caplog):
    stop = threading.Event()
    clock = [0.0]
    tried: list[float] = []
    refreshed: list[float] = []

    def mark_missed(*_) -> int:  # as stations' while its database is down
        tried.append(clock[0])
        raise ConnectionError("database unreachable")

    def refresh_opening(*_) -> int:
        refreshed.append(clock[0])
        if len(refreshed) == 10:
            stop.set()
        return 0

    def tick(self, timeout=None):  # each wait of the loop passes its seconds at once
        clock[0] += timeout
        return self.is_set()

    monkeypatch.setattr(threading.Event, "wait", tick)
    monkeypatch.setattr(worker, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    jobs = [Job("mark_missed", 3, mark_missed), Job("refresh_opening", 0, refresh_opening)]

    run_jobs(Settings("stations"), None, jobs, stop)

    assert refreshed == [float(second) for second in range(10)]  # every second, as if nothing failed
    assert tried == [0.0, 3.0, 6.0, 9.0]  # at its turns, not at every tick
    failures = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert failures == ["job mark_missed failed; trying again in 3s"] * 4


def test_courses_and_stations_declare_their_jobs_and_the_others_have_none():
    jobs = {name: [job.name for job in s.optional_part("jobs", [])] for name, s in SERVICES.items()}

    assert jobs["courses"] == ["mark_no_shows"]
    assert jobs["stations"] == ["mark_missed", "publish_live", "refresh_opening", "upgrade_finder"]
    assert jobs["enrolment"] == [] and jobs["merchants"] == []
