"""Vouchers: a thank-you voucher once per completed shift, admin grants, and a member's savings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from events.envelope import Event
from schemas.events import benefits, members, stations
from services.common.idempotency import IdempotentRequest
from services.merchants import service, tables
from tests.support import deliver, member_event


def _shift_completed(shift_id: str, member_id: str, at: datetime | None = None) -> Event:
    data = {
        "station_id": "st-1",
        "shift_id": shift_id,
        "member_id": member_id,
        "minutes": 240,
        "occurred_at": (at or datetime.now(UTC)).isoformat(),
    }
    return Event(type=stations.SHIFT_COMPLETED, source="/unionhub/stations", subject="st-1", data=data)


def test_a_completed_shift_earns_one_thank_you_voucher_even_when_replayed_under_a_new_event_id(api):
    member_id = api.member()
    event = _shift_completed("shift-1", member_id)

    deliver(api.app, event, event, _shift_completed("shift-1", member_id))

    assert api.count(tables.vouchers, tables.vouchers.c.member_id == member_id) == 1
    assert api.outbox_types().count(benefits.VOUCHER_GRANTED) == 1
    mine = api.send("GET", "/api/v1/vouchers/me", headers=api.mint.member(member_id)).get_json()
    assert [v["reason"] for v in mine["vouchers"]] == ["shift_thanks"]


def test_a_shift_replayed_late_earns_a_voucher_dated_from_the_shift_not_from_the_replay(api):
    member_id = api.member()
    completed = datetime.now(UTC) - timedelta(days=20)  # dead-lettered, replayed 20 days on

    deliver(api.app, _shift_completed("shift-1", member_id, completed))

    (granted,) = api.events(benefits.VOUCHER_GRANTED)
    voucher = api.row(tables.vouchers, granted["voucher_id"])
    expires_at = voucher.expires_at.replace(tzinfo=UTC)
    assert expires_at == completed + timedelta(days=30)  # shift_voucher_days


def test_the_previous_holders_token_stops_reaching_a_membership_moved_to_another_person(api):
    api.app.extensions["unionhub"].moved_memberships.refresh_seconds = 0  # not waiting for the next read
    member_id = api.member()
    before = api.mint.member(member_id)
    api.voucher(member_id)

    deliver(api.app, member_event(members.REASSIGNED, member_id))

    refused = api.send("GET", "/api/v1/vouchers/me", headers=before)
    assert (refused.status_code, refused.get_json()["code"]) == (401, "token_invalid")


def test_a_member_sees_what_their_redemptions_saved_net_of_refunds(api):
    shop = api.shop(percent_off=10)
    member_id = api.member()
    api.redeem_ok(shop, member_id, 10_000)
    refunded = api.redeem_ok(shop, member_id, 5_000)
    api.reverse(shop.till, refunded["id"], 2_500)

    mine = api.send("GET", "/api/v1/vouchers/me", headers=api.mint.member(member_id)).get_json()

    assert mine["saved_fen"] == 1_000 + 500 - 250
    assert mine["redemptions"] == 2


def _grant(api, key: str, expires_at: datetime):
    """One grant by an admin of the federation (the member event places the member in "b-1" under
    "root"), to send as often as a test retries it."""
    body = {
        "member_id": api.member(),
        "value_fen": 2000,
        "reason": "普惠周",
        "expires_at": expires_at.isoformat(),
    }
    headers = {**api.mint.admin("root"), "Idempotency-Key": key}
    return lambda: api.send("POST", "/api/v1/vouchers", json=body, headers=headers)


def test_an_admin_grants_a_voucher_with_an_expiry_once_per_key(api):
    send = _grant(api, "grant-1", datetime.now(UTC) + timedelta(days=7))

    first, again = send(), send()

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert api.count(tables.vouchers) == 1


def test_a_twin_grant_that_loses_the_race_for_its_key_answers_the_winners_voucher(api, monkeypatch):
    send = _grant(api, "grant-twin", datetime.now(UTC) + timedelta(days=7))
    first = send()
    # The twin looked for a stored answer before the first one committed it.
    looked_up = IdempotentRequest.answered
    lookups = iter([lambda _self, _conn: None])
    monkeypatch.setattr(
        IdempotentRequest, "answered", lambda self, conn: next(lookups, looked_up)(self, conn)
    )

    twin = send()

    assert (first.status_code, twin.status_code) == (201, 201)
    assert twin.get_json() == first.get_json()
    assert api.count(tables.vouchers) == 1


def test_a_retry_of_a_grant_gets_its_answer_after_the_voucher_expired(api, monkeypatch):
    expires = datetime.now(UTC) + timedelta(hours=2)  # a retry within the day its answer is kept
    send = _grant(api, "grant-late", expires)
    first = send()
    monkeypatch.setattr(service, "now", lambda: expires + timedelta(minutes=1))

    retry = send()

    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.get_json() == first.get_json()


def test_an_admin_cannot_grant_a_voucher_to_someone_the_projection_does_not_know(api):
    body = {
        "member_id": str(uuid.uuid4()),
        "value_fen": 2000,
        "reason": "x",
        "expires_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
    }

    response = api.send(
        "POST", "/api/v1/vouchers", json=body, headers={**api.admin, "Idempotency-Key": "g-2"}
    )

    assert response.status_code == 404
    assert api.count(tables.vouchers) == 0
