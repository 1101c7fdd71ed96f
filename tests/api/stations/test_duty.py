"""Duty groups, the rota, swaps, check-in, the duty log and check-out; members leaving the rota."""

from __future__ import annotations

import json
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

import opening_hours

from schemas.events import members as m
from schemas.events import stations as ev
from services.common.clock import SHANGHAI, local_day, now
from services.stations import shifts, tables
from tests.support import deliver, member_event

from .conftest import join, outbox, outbox_types, this_monday

HORIZON = (this_monday() + timedelta(weeks=13)).isoformat()


def on_duty(rig, *members):
    station_id = rig.station()
    rig.assign(station_id)
    group_id = rig.group(station_id, *members)
    rig.rota(station_id)
    return station_id, group_id


def test_groups_take_a_week_each_with_an_open_and_a_close_duty_per_day(rig, api):
    station_id = rig.station(opening_hours="Mo-Su 07:00-22:00")
    rig.assign(station_id)
    groups = [rig.group(station_id, f"m-{i}", name=f"{i}组") for i in range(4)]
    rota = rig.rota(station_id, weeks=4)
    assert [w["group_id"] for w in rota["weeks"]] == groups
    duties = api.get(f"/api/v1/stations/{station_id}/duties?to={HORIZON}", headers=rig.coordinator)
    later = [d for d in duties if d["week"] == rota["weeks"][1]["week"]]
    assert len(later) == 14 and {d["group_id"] for d in later} == {groups[1]}
    assert {d["kind"] for d in later} == {"open", "close"}
    # 07:00 and 22:00 in Guizhou are 23:00 the day before and 14:00 in UTC.
    assert {d["at"][11:16] for d in later} == {"23:00", "14:00"}


def test_the_next_plan_carries_on_the_turn_and_passes_over_a_group_nobody_is_left_in(rig, api, app):
    station_id = rig.station(opening_hours="Mo-Su 07:00-22:00")
    rig.assign(station_id)
    a, b, c = (rig.group(station_id, f"m-{i}", name=f"{i}组") for i in range(3))
    assert [w["group_id"] for w in rig.rota(station_id, weeks=4)["weeks"]] == [a, b, c, a]

    later = {"start": (this_monday() + timedelta(weeks=4)).isoformat(), "weeks": 4}
    planned = api.post(f"/api/v1/stations/{station_id}/rota", later, headers=rig.coordinator, expect=201)
    assert [w["group_id"] for w in planned["weeks"]] == [b, c, a, b]

    deliver(app, member_event(m.LEFT, "m-2"))  # c's only volunteer
    planned = api.post(f"/api/v1/stations/{station_id}/rota", later, headers=rig.coordinator, expect=201)
    assert [w["group_id"] for w in planned["weeks"]] == [b, a, b, a]
    named = api.send(
        "POST",
        f"/api/v1/stations/{station_id}/rota",
        json={**later, "group_ids": [c]},
        headers=rig.coordinator,
    )
    assert (named.status_code, named.json()["code"]) == (422, "duty_group.empty")


def test_a_rota_leaves_out_public_holidays_that_are_off(rig, api):
    station_id = rig.station(opening_hours="Mo-Su 07:00-22:00; PH off")
    rig.assign(station_id)
    rig.group(station_id, "m-1")
    rig.rota(station_id, weeks=12)
    duties = api.get(f"/api/v1/stations/{station_id}/duties?to={HORIZON}", headers=rig.coordinator)
    days = {date.fromisoformat(d["day"]) for d in duties}
    holidays = opening_hours.OpeningHours("PH", country="CN")
    expected = {
        day
        for day in (this_monday() + timedelta(days=i) for i in range(84))
        if not holidays.is_open(datetime.combine(day, time(12)))
    }
    assert days <= expected and days >= {d for d in expected if d > min(days)}


def test_duty_groups_take_only_active_members(rig, api, app):
    station_id = rig.station()
    rig.assign(station_id)
    join(app, "m-1")
    deliver(app, member_event(m.SUSPENDED, "m-1"))
    reply = api.send(
        "POST",
        f"/api/v1/stations/{station_id}/duty-groups",
        json={"name": "x", "member_ids": ["m-1"]},
        headers=rig.coordinator,
    )
    assert reply.status_code == 422 and reply.json()["code"] == "duty_group.member_inactive"
    reply = api.send(
        "POST",
        f"/api/v1/stations/{station_id}/duty-groups",
        json={"name": "x", "member_ids": ["never-joined"]},
        headers=rig.coordinator,
    )
    assert reply.status_code == 422


def test_the_volunteer_on_the_rota_checks_in_logs_and_checks_out_and_the_station_opens_and_closes(
    rig, api, app
):
    station_id, group_id = on_duty(rig, "m-1", "m-2")
    shift_id = rig.checkin(station_id, "m-1", lat=26.5605, lng=106.6902)["shift_id"]
    live = api.get(f"/api/v1/stations/{station_id}")["live"]
    assert live["status"] == "open" and live["on_duty_group"] == "一组" and live["updated_at"]
    finder = api.get("/api/v1/stations?lat=26.56&lng=106.69")
    assert finder[0]["live"]["status"] == "open"

    member = rig.mint.member("m-1")
    api.post(f"/api/v1/shifts/{shift_id}/log", {"kind": "lights", "value": "on"}, headers=member, expect=201)
    api.post(f"/api/v1/shifts/{shift_id}/log", {"kind": "cleaning"}, headers=member, expect=201)
    api.post(
        f"/api/v1/shifts/{shift_id}/log", {"kind": "note", "note": "微波炉有点响"}, headers=member, expect=201
    )
    done = api.post(f"/api/v1/shifts/{shift_id}/checkout", headers=member)
    assert done["station_status"] == "closed"
    assert api.get(f"/api/v1/stations/{station_id}")["live"]["status"] == "closed"

    assert outbox_types(app) == [ev.STATION_OPENED, ev.SHIFT_STARTED, ev.STATION_CLOSED, ev.SHIFT_COMPLETED]
    completed = [r for r in outbox(app) if r.type == ev.SHIFT_COMPLETED][0]
    assert completed.key == station_id
    payload = json.loads(completed.payload)
    assert payload["member_id"] == "m-1" and payload["shift_id"] == shift_id
    assert payload["duty_group_id"] == group_id


def test_a_volunteer_not_on_the_rota_gets_403_and_nothing_changes(rig, api, app):
    station_id, _ = on_duty(rig, "m-1")
    join(app, "m-9")
    reply = rig.checkin(station_id, "m-9", expect=403)
    assert reply["code"] == "checkin.not_on_rota"
    assert api.get(f"/api/v1/stations/{station_id}")["live"]["status"] == "closed"
    assert outbox_types(app) == []


def test_a_duplicate_check_in_gets_409(rig, app):
    station_id, _ = on_duty(rig, "m-1")
    rig.checkin(station_id, "m-1")
    assert rig.checkin(station_id, "m-1", expect=409)["code"] == "checkin.already"
    assert outbox_types(app).count(ev.SHIFT_STARTED) == 1


def test_check_in_far_from_the_station_is_refused(rig, app):
    station_id, _ = on_duty(rig, "m-1")
    reply = rig.checkin(station_id, "m-1", expect=403, lat=26.57, lng=106.69)  # 1.1 km north
    assert reply["code"] == "checkin.too_far"
    assert outbox_types(app) == []


def test_a_forged_or_revoked_station_code_is_refused_clearly(rig, api, app):
    station_id, _ = on_duty(rig, "m-1")
    member = rig.mint.member("m-1")
    code = rig.code(station_id)
    forged = code[:-2] + ("AA" if not code.endswith("AA") else "BB")
    reply = api.send("POST", "/api/v1/shifts/checkin", json={"station_code": forged}, headers=member)
    assert reply.status_code == 422 and reply.json()["code"] == "station_code.signature"
    reply = api.send("POST", "/api/v1/shifts/checkin", json={"station_code": "hello"}, headers=member)
    assert reply.status_code == 422 and reply.json()["code"] == "station_code.malformed"
    api.post(f"/api/v1/stations/{station_id}/qr/revoke", headers=rig.coordinator)
    reply = api.send("POST", "/api/v1/shifts/checkin", json={"station_code": code}, headers=member)
    assert reply.status_code == 410 and reply.json()["code"] == "station_code.revoked"
    assert outbox_types(app) == []
    rig.checkin(station_id, "m-1")  # the new poster works


def test_checking_out_someone_elses_shift_is_forbidden_and_changes_nothing(rig, api, app):
    station_id, _ = on_duty(rig, "m-1", "m-2")
    shift_id = rig.checkin(station_id, "m-1")["shift_id"]
    reply = api.send("POST", f"/api/v1/shifts/{shift_id}/checkout", headers=rig.mint.member("m-2"))
    assert reply.status_code == 403 and reply.json()["code"] == "shift.not_yours"
    reply = api.send(
        "POST", f"/api/v1/shifts/{shift_id}/log", json={"kind": "cleaning"}, headers=rig.mint.member("m-2")
    )
    assert reply.status_code == 403
    assert api.get(f"/api/v1/stations/{station_id}")["live"]["status"] == "open"
    assert ev.SHIFT_COMPLETED not in outbox_types(app)


def test_a_swapped_duty_belongs_to_the_volunteer_who_accepted_it(rig, api, app):
    station_id = rig.station(opening_hours="Mo-Su 00:00-24:00")
    rig.assign(station_id)
    mine = rig.group(station_id, "m-1", name="一组")
    rig.group(station_id, "m-2", name="二组")
    rig.rota(station_id, weeks=2, group_ids=[mine])
    duties = api.get(f"/api/v1/stations/{station_id}/duties?to={HORIZON}", headers=rig.coordinator)
    future = [d for d in duties if d["status"] == "scheduled"][-1]
    swap_id = api.post(
        f"/api/v1/stations/{station_id}/duties/{future['id']}/swaps",
        {"to_member_id": "m-2"},
        headers=rig.mint.member("m-1"),
        expect=201,
    )["id"]
    # Only the one asked may accept.
    assert (
        api.send(
            "POST", f"/api/v1/stations/{station_id}/swaps/{swap_id}/accept", headers=rig.mint.member("m-1")
        ).status_code
        == 404
    )
    api.post(
        f"/api/v1/stations/{station_id}/swaps/{swap_id}/accept", headers=rig.mint.member("m-2"), expect=204
    )
    swaps = api.get(f"/api/v1/stations/{station_id}/swaps", headers=rig.coordinator)
    assert swaps[0]["status"] == "accepted" and swaps[0]["to_member_id"] == "m-2"
    duties = api.get(f"/api/v1/stations/{station_id}/duties?to={HORIZON}", headers=rig.coordinator)
    assert [d["member_id"] for d in duties if d["id"] == future["id"]] == ["m-2"]
    # m-1 can no longer give it away.
    reply = api.send(
        "POST",
        f"/api/v1/stations/{station_id}/duties/{future['id']}/swaps",
        json={"to_member_id": "m-2"},
        headers=rig.mint.member("m-1"),
    )
    assert reply.status_code == 403


def test_duties_nobody_took_are_marked_missed_after_the_grace_period(rig, app):
    station_id, group_id = on_duty(rig, "m-1")
    ext = app.extensions["stations"]
    uow = app.extensions["unionhub"].db.unit_of_work
    assert shifts.mark_missed(uow(), ext.settings, now()) == 0
    missed = shifts.mark_missed(uow(), ext.settings, now() + timedelta(days=8))
    assert missed > 0
    events = [r for r in outbox(app) if r.type == ev.SHIFT_MISSED]
    assert len(events) == missed
    assert shifts.mark_missed(uow(), ext.settings, now() + timedelta(days=8)) == 0


def test_a_volunteer_who_leaves_is_taken_off_the_rota_and_their_duties_are_flagged(rig, api, app):
    station_id, _ = on_duty(rig, "m-1", "m-2")
    deliver(app, member_event(m.LEFT, "m-1"))
    groups = api.get(f"/api/v1/stations/{station_id}/duty-groups", headers=rig.coordinator)
    assert groups[0]["member_ids"] == ["m-2"]
    duties = api.get(f"/api/v1/stations/{station_id}/duties?to={HORIZON}", headers=rig.coordinator)
    assert duties and all(d["flagged"] == "member_left" for d in duties if d["status"] == "scheduled")
    assert rig.checkin(station_id, "m-1", expect=403)["code"] == "member.left"


def test_a_volunteers_membership_moved_to_another_person_takes_the_rota_from_neither(
    rig, api, app, monkeypatch
):
    station_id, _ = on_duty(rig, "m-1", "m-2")
    deliver(app, member_event(m.REASSIGNED, "m-1"))  # an identity dispute's decision
    later = clock.time() + 2  # the new holder logs in after it: the earlier holder's tokens are refused
    monkeypatch.setattr("services.enrolment.tokens.time", SimpleNamespace(time=lambda: later))
    groups = api.get(f"/api/v1/stations/{station_id}/duty-groups", headers=rig.coordinator)
    assert groups[0]["member_ids"] == ["m-2"]
    duties = api.get(f"/api/v1/stations/{station_id}/duties?to={HORIZON}", headers=rig.coordinator)
    assert duties and all(d["flagged"] == "member_reassigned" for d in duties if d["status"] == "scheduled")
    # The person now holding the membership never volunteered.
    assert rig.checkin(station_id, "m-1", expect=403)["code"] == "checkin.not_on_rota"


def test_a_move_arriving_late_leaves_the_new_holder_their_group_and_shift(rig, api, app):
    station_id, _ = on_duty(rig, "m-1", "m-2")
    moved_at = datetime.now(UTC)  # the dispute's decision; its event dead-lettered for a while
    # Meanwhile the coordinator puts the person now holding the membership on a group of their own.
    rig.rota(station_id, group_ids=[rig.group(station_id, "m-1", name="二组")])
    shift_id = rig.checkin(station_id, "m-1")["shift_id"]

    deliver(app, member_event(m.REASSIGNED, "m-1", occurred_at=moved_at.isoformat()))

    groups = api.get(f"/api/v1/stations/{station_id}/duty-groups", headers=rig.coordinator)
    assert {g["name"]: g["member_ids"] for g in groups} == {"一组": ["m-2"], "二组": ["m-1"]}
    assert api.get("/api/v1/shifts/me", headers=rig.mint.member("m-1"))["shift_id"] == shift_id


def test_the_previous_holders_token_stops_reaching_a_membership_moved_to_another_person(rig, api, app):
    app.extensions["unionhub"].moved_memberships.refresh_seconds = 0  # not waiting for the next read
    station_id, _ = on_duty(rig, "m-1")
    before = rig.mint.member("m-1")
    shift_id = rig.checkin(station_id, "m-1")["shift_id"]

    deliver(app, member_event(m.REASSIGNED, "m-1"))  # the shift stopped with it

    for method, path in (("GET", "/api/v1/shifts/me"), ("POST", f"/api/v1/shifts/{shift_id}/checkout")):
        refused = api.send(method, path, headers=before)
        assert (refused.status_code, refused.json()["code"]) == (401, "token_invalid")


def _finder_live(api, station_id: str) -> str:
    (card,) = [c for c in api.get("/api/v1/stations?lat=26.56&lng=106.69") if c["id"] == station_id]
    return card["live"]["status"]


def test_a_volunteer_suspended_on_shift_has_it_stopped_and_earns_no_voucher(rig, api, app, clean_redis):
    station_id, _ = on_duty(rig, "m-1", "m-2")
    shift_id = rig.checkin(station_id, "m-1")["shift_id"]
    assert _finder_live(api, station_id) == "open"

    deliver(app, member_event(m.SUSPENDED, "m-1"))

    # Stopped in the event's transaction, the station closed with it: no shift_completed, no voucher.
    assert outbox_types(app) == [ev.STATION_OPENED, ev.SHIFT_STARTED, ev.STATION_CLOSED]
    assert api.get(f"/api/v1/stations/{station_id}")["live"]["status"] == "closed"
    reply = api.post(f"/api/v1/shifts/{shift_id}/checkout", headers=rig.mint.member("m-1"), expect=409)
    assert reply["code"] == "shift.ended"
    with app.extensions["unionhub"].db.engine.connect() as conn:
        row = conn.execute(tables.shifts.select().where(tables.shifts.c.id == shift_id)).one()
    assert row.status == "stopped" and row.minutes is not None
    # The handler holds no Redis: the finder's card follows with the worker's job.
    assert _finder_live(api, station_id) == "open"
    assert shifts.publish_live(app.extensions["unionhub"].db, clean_redis) == 1
    assert _finder_live(api, station_id) == "closed"


def test_a_suspension_leaves_the_other_volunteers_shift_and_the_station_open(rig, api, app):
    station_id, _ = on_duty(rig, "m-1", "m-2")
    rig.checkin(station_id, "m-1")
    other = rig.checkin(station_id, "m-2")["shift_id"]

    deliver(app, member_event(m.SUSPENDED, "m-1"))

    assert ev.STATION_CLOSED not in outbox_types(app)
    assert api.get(f"/api/v1/stations/{station_id}")["live"]["status"] == "open"
    assert api.get("/api/v1/shifts/me", headers=rig.mint.member("m-2"))["shift_id"] == other
    done = api.post(f"/api/v1/shifts/{other}/checkout", headers=rig.mint.member("m-2"))
    assert done["station_status"] == "closed"


def test_a_volunteer_reinstated_the_same_day_resumes_the_stopped_shift(rig, api, app):
    station_id, _ = on_duty(rig, "m-1")
    shift_id = rig.checkin(station_id, "m-1")["shift_id"]
    deliver(app, member_event(m.SUSPENDED, "m-1"))
    deliver(app, member_event(m.REINSTATED, "m-1"))
    # The suspension took them off the rota; the coordinator puts them on it again.
    rig.rota(station_id, group_ids=[rig.group(station_id, "m-1", name="二组")])

    assert rig.checkin(station_id, "m-1")["shift_id"] == shift_id
    api.post(f"/api/v1/shifts/{shift_id}/checkout", headers=rig.mint.member("m-1"))
    completed = [json.loads(r.payload) for r in outbox(app) if r.type == ev.SHIFT_COMPLETED]
    assert [c["shift_id"] for c in completed] == [shift_id]


def test_the_finders_live_cards_catch_up_with_the_database(rig, api, app, clean_redis):
    db = app.extensions["unionhub"].db
    first, second = rig.station(), rig.station(name="第二驿站")
    # The first run, and a run after Redis lost the job's mark, bring up every station.
    assert shifts.publish_live(db, clean_redis) == 2
    assert shifts.publish_live(db, clean_redis) == 0  # neither has a live state yet
    station_id, _ = on_duty(rig, "m-1")
    rig.checkin(station_id, "m-1")
    clean_redis.delete(f"stations:card:{station_id}")  # a card write lost to a Redis outage

    assert shifts.publish_live(db, clean_redis) == 1
    assert _finder_live(api, station_id) == "open"
    clean_redis.delete("stations:finder:live_published")
    assert shifts.publish_live(db, clean_redis) == 3
    assert {first, second} < {c["id"] for c in api.get("/api/v1/stations?lat=26.56&lng=106.69")}


def test_regenerating_a_rota_replaces_duties_with_swaps_asked_and_keeps_one_taken_by_a_swap(rig, api):
    station_id = rig.station(opening_hours="Mo-Su 00:00-24:00")
    rig.assign(station_id)
    first, second = rig.group(station_id, "m-1", name="一组"), rig.group(station_id, "m-2", name="二组")
    rig.rota(station_id, weeks=2, group_ids=[first])
    duties = f"/api/v1/stations/{station_id}/duties?to={HORIZON}"
    asked, taken = [d for d in api.get(duties, headers=rig.coordinator) if d["status"] == "scheduled"][-2:]
    swaps = [
        api.post(
            f"/api/v1/stations/{station_id}/duties/{duty['id']}/swaps",
            {"to_member_id": "m-2"},
            headers=rig.mint.member("m-1"),
            expect=201,
        )["id"]
        for duty in (asked, taken)
    ]
    api.post(
        f"/api/v1/stations/{station_id}/swaps/{swaps[1]}/accept", headers=rig.mint.member("m-2"), expect=204
    )

    rig.rota(station_id, weeks=2, group_ids=[second])

    after = {d["id"]: d for d in api.get(duties, headers=rig.coordinator)}
    assert asked["id"] not in after  # replaced, with the swap asked of it
    assert after[taken["id"]]["member_id"] == "m-2"
    assert [s["id"] for s in api.get(f"/api/v1/stations/{station_id}/swaps", headers=rig.coordinator)] == [
        swaps[1]
    ]
    replacement = [d for d in after.values() if (d["day"], d["kind"]) == (asked["day"], asked["kind"])]
    assert [d["group_id"] for d in replacement] == [second]


def test_a_night_volunteer_opens_at_night_and_closes_the_next_morning_and_misses_nothing(
    rig, api, app, monkeypatch
):
    station_id = rig.station(opening_hours="Mo-Su 22:00-06:00")
    rig.assign(station_id)
    rig.group(station_id, "m-1")
    rig.rota(station_id, weeks=2)
    night = local_day(now()) + timedelta(days=1)
    clock = [datetime.combine(night, time(21, 55), SHANGHAI).astimezone(UTC)]
    monkeypatch.setattr(shifts, "now", lambda: clock[0])

    shift_id = rig.checkin(station_id, "m-1")["shift_id"]
    clock[0] = datetime.combine(night + timedelta(days=1), time(6, 2), SHANGHAI).astimezone(UTC)
    api.post(f"/api/v1/shifts/{shift_id}/checkout", headers=rig.mint.member("m-1"))
    ext, uow = app.extensions["stations"], app.extensions["unionhub"].db.unit_of_work
    shifts.mark_missed(uow(), ext.settings, clock[0] + timedelta(hours=1))

    duties = api.get(f"/api/v1/stations/{station_id}/duties?to={HORIZON}", headers=rig.coordinator)
    tonight = {d["kind"]: d for d in duties if d["day"] == night.isoformat()}
    assert {k: (d["status"], d["at"]) for k, d in tonight.items()} == {
        "open": ("done", _utc_text(night, time(22))),
        "close": ("done", _utc_text(night + timedelta(days=1), time(6))),
    }
    after = [d for d in duties if d["day"] == (night + timedelta(days=1)).isoformat()]
    assert [(d["kind"], d["status"]) for d in after] == [("open", "scheduled"), ("close", "scheduled")]


def _utc_text(day: date, at: time) -> str:
    return datetime.combine(day, at, SHANGHAI).astimezone(UTC).isoformat()


def _at(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, SHANGHAI).astimezone(UTC)


def _day_on_duty(rig, monkeypatch, hours: str = "Mo-Su 08:00-20:00"):
    """A station with ``hours``, m-1 on its rota tomorrow, and the service's clock to set."""
    station_id = rig.station(opening_hours=hours)
    rig.assign(station_id)
    rig.group(station_id, "m-1")
    rig.rota(station_id, weeks=2)
    clock = [now()]
    monkeypatch.setattr(shifts, "now", lambda: clock[0])
    return station_id, local_day(now()) + timedelta(days=1), clock


def _duties_of(api, rig, station_id: str, day: date) -> dict:
    duties = api.get(f"/api/v1/stations/{station_id}/duties?to={HORIZON}", headers=rig.coordinator)
    return {d["kind"]: d["status"] for d in duties if d["day"] == day.isoformat()}


def test_stepping_out_and_back_in_resumes_the_days_shift_which_completes_as_one(rig, api, app, monkeypatch):
    station_id, day, clock = _day_on_duty(rig, monkeypatch)
    member = rig.mint.member("m-1")
    clock[0] = _at(day, time(7, 55))
    shift_id = rig.checkin(station_id, "m-1")["shift_id"]
    clock[0] = _at(day, time(12))
    api.post(f"/api/v1/shifts/{shift_id}/checkout", headers=member)
    # Out for lunch at noon: the station closed, but its close duty is the evening's.
    assert _duties_of(api, rig, station_id, day) == {"open": "done", "close": "scheduled"}

    clock[0] = _at(day, time(13))
    assert rig.checkin(station_id, "m-1")["shift_id"] == shift_id
    assert api.get("/api/v1/shifts/me", headers=member)["shift_id"] == shift_id
    clock[0] = _at(day, time(20, 5))
    done = api.post(f"/api/v1/shifts/{shift_id}/checkout", headers=member)

    assert done["minutes"] == 245 + 425  # 07:55-12:00 and 13:00-20:05, not the lunch hour
    assert _duties_of(api, rig, station_id, day) == {"open": "done", "close": "done"}
    completed = [json.loads(r.payload) for r in outbox(app) if r.type == ev.SHIFT_COMPLETED]
    # One shift, so one thank-you voucher: merchants grant it once per shift id.
    assert {c["shift_id"] for c in completed} == {shift_id} and len(completed) == 2
    assert [c["minutes"] for c in completed] == [245, 670]
    stats = api.get(f"/api/v1/stations/{station_id}/stats?from={day}&to={day}", headers=rig.coordinator)
    assert stats["days"][0]["open_hours"] == round(670 / 60, 2)


def test_a_check_out_forgotten_holds_up_no_other_days_close_duty(rig, api, app, monkeypatch):
    station_id, day, clock = _day_on_duty(rig, monkeypatch)
    ext, uow = app.extensions["stations"], app.extensions["unionhub"].db.unit_of_work
    clock[0] = _at(day, time(7, 55))
    rig.checkin(station_id, "m-1")  # and never checks out

    shifts.mark_missed(uow(), ext.settings, _at(day + timedelta(days=1), time(21)))

    assert _duties_of(api, rig, station_id, day + timedelta(days=1)) == {"open": "missed", "close": "missed"}
    assert _duties_of(api, rig, station_id, day) == {"open": "done", "close": "scheduled"}


def test_a_shift_opened_before_stints_were_kept_checks_out_with_its_minutes(rig, api, app, monkeypatch):
    station_id, day, clock = _day_on_duty(rig, monkeypatch)
    clock[0] = _at(day, time(7, 55))
    shift_id = rig.checkin(station_id, "m-1")["shift_id"]
    with app.extensions["unionhub"].db.engine.begin() as conn:  # as a release before them opened it
        conn.execute(tables.shift_stints.delete())

    clock[0] = _at(day, time(20))
    done = api.post(f"/api/v1/shifts/{shift_id}/checkout", headers=rig.mint.member("m-1"))

    assert done["minutes"] == 12 * 60 + 5
    stats = api.get(f"/api/v1/stations/{station_id}/stats?from={day}&to={day}", headers=rig.coordinator)
    assert stats["days"][0]["open_hours"] == round(725 / 60, 2)


def test_a_volunteer_closing_late_is_not_marked_missed_and_their_check_out_closes(rig, api, app, monkeypatch):
    station_id, day, clock = _day_on_duty(rig, monkeypatch)
    ext, uow = app.extensions["stations"], app.extensions["unionhub"].db.unit_of_work
    clock[0] = _at(day, time(7, 55))
    shift_id = rig.checkin(station_id, "m-1")["shift_id"]

    clock[0] = _at(day, time(21))  # an hour past closing, still on duty
    shifts.mark_missed(uow(), ext.settings, clock[0])
    assert _duties_of(api, rig, station_id, day) == {"open": "done", "close": "scheduled"}
    api.post(f"/api/v1/shifts/{shift_id}/checkout", headers=rig.mint.member("m-1"))
    assert _duties_of(api, rig, station_id, day) == {"open": "done", "close": "done"}
