"""Journeys across all four services through the gateway, against the running system.

An admin sets up a branch and campaign, a course at a venue, a merchant with a store, an offer and a
till, and a station with a rota. A worker scans the poster (the QR decoded with a real decoder),
joins after identity verification, books the course and is checked in with the ticket QR, redeems
at the till with the card QR, and volunteers at the station: checks in with the station QR, logs a
duty, checks out, and merchants grants the thank-you voucher once. Then the member is suspended
and each service refuses them within a bounded time. Every step is an HTTP call to :8000; members
become known to the other services only through the members topic. The steps are in journey.py.
"""

from __future__ import annotations

import pytest

from tests.e2e import journey as steps
from tests.e2e.journey import Journey


@pytest.fixture
def journey(gateway, admin) -> Journey:
    return Journey(gateway, admin)


def test_a_worker_joins_books_redeems_volunteers_and_a_suspension_reaches_every_service(journey):
    place = steps.set_up(journey)
    worker = steps.join(journey, place)
    steps.check_in(journey, place, worker, steps.book(journey, place, worker))
    sale = steps.redeem(journey, place, worker)
    station_code = steps.volunteer(journey, place, worker)
    steps.suspend(journey, worker.member_id)
    steps.every_service_refuses(journey, worker, sale, station_code)
