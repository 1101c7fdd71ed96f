"""Courses' own ``unionhub`` subcommands."""

from __future__ import annotations

from services.common.kit import Command, database, load_settings

from . import attendance, seed


def _mark_no_shows(_args) -> int:
    settings = load_settings("courses")
    db = database("courses", settings)
    try:
        print(f"recorded {attendance.mark_no_shows(db.unit_of_work())} no-show(s)")
    finally:
        db.engine.dispose()
    return 0


def _seed(args) -> int:
    seed.main(args.domain)
    return 0


COMMANDS = [
    Command("seed", "a demo term of courses at the city union of Guiyang", _seed),
    Command(
        "mark-no-shows",
        "record the no-shows of sessions that have ended now (the worker does it every minute)",
        _mark_no_shows,
    ),
]
