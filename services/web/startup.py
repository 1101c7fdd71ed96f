"""What the web service builds once: where its pages' npm assets are."""

from __future__ import annotations

from services.common.db import Database
from services.common.kit import Started

from .settings import WebSettings


def start(settings: WebSettings, db: Database) -> Started:
    # No tables to create and no keys to load: tokens are verified by the services the pages call.
    return Started(extension=settings)
