"""Enrolment's event worker: ``unionhub worker enrolment``."""

from services.common import worker

from .db import build_database
from .handlers import HANDLERS
from .settings import EnrolmentSettings


def main(roles: tuple[str, ...] = worker.ROLES) -> None:
    settings = EnrolmentSettings.from_env("enrolment")
    db = build_database(settings)
    db.create_all()
    worker.run(settings, db, HANDLERS, roles)
