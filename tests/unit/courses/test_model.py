"""Course booking's rules without a database: sessions from a weekly schedule, who may take a seat,
the cancellation deadline, and the check-in window."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from services.common.domain import Conflict, Forbidden, Invalid
from services.courses import model
from services.courses.model import Eligibility, Person, Schedule, Term


def _term(**overrides) -> Term:
    values = dict(
        id="t",
        name="秋季",
        branch_path=("root",),
        booking_opens_at=datetime(2027, 2, 1, tzinfo=UTC),
        booking_closes_at=datetime(2027, 2, 10, tzinfo=UTC),
        starts_on=date(2027, 3, 1),
        ends_on=date(2027, 3, 31),
        no_show_limit=3,
    )
    values.update(overrides)
    return Term(**values)


def test_a_weekly_schedule_makes_sessions_on_its_weekdays_in_local_time():
    schedule = Schedule((2, 4), time(19, 0), 90)

    sessions = schedule.sessions(date(2027, 3, 1), date(2027, 3, 7))

    assert [s.isoformat() for s, _ in sessions] == ["2027-03-02T11:00:00+00:00", "2027-03-04T11:00:00+00:00"]
    assert all(e - s == timedelta(minutes=90) for s, e in sessions)


def test_a_schedule_with_no_session_in_the_term_is_refused():
    with pytest.raises(Invalid, match="course.no_sessions"):
        model.plan_sessions(
            Schedule((6,), time(9, 0), 60), _term(starts_on=date(2027, 3, 1), ends_on=date(2027, 3, 5))
        )


def test_the_booking_window_is_closed_before_and_after():
    term = _term()
    term.check_booking_open(datetime(2027, 2, 5, tzinfo=UTC))
    with pytest.raises(Invalid, match="booking.not_open_yet"):
        term.check_booking_open(datetime(2027, 1, 31, tzinfo=UTC))
    with pytest.raises(Invalid, match="booking.closed"):
        term.check_booking_open(datetime(2027, 2, 10, tzinfo=UTC))


def test_a_childs_age_is_counted_on_the_terms_first_day_birthday_included():
    child = Person("m", "c", birth_date=date(2021, 3, 1))

    assert child.age_on(date(2027, 2, 28)) == 5
    assert child.age_on(date(2027, 3, 1)) == 6


def test_eligibility_checks_children_women_and_branches():
    kids = Eligibility(min_age=6, max_age=12)
    on = date(2027, 3, 1)
    kids.check(Person("m", "c", birth_date=date(2019, 1, 1)), ("root",), on)
    with pytest.raises(Invalid, match="booking.child_required"):
        kids.check(Person("m"), ("root",), on)
    with pytest.raises(Invalid, match="booking.age_not_eligible"):
        kids.check(Person("m", "c", birth_date=date(2023, 1, 1)), ("root",), on)
    with pytest.raises(Forbidden, match="booking.women_only"):
        Eligibility(women_only=True).check(Person("m", sex="male"), ("root",), on)
    with pytest.raises(Forbidden, match="booking.branch_not_eligible"):
        Eligibility(branch_ids=("b-1",)).check(Person("m"), ("root", "b-2"), on)
    Eligibility(branch_ids=("city",)).check(Person("m"), ("root", "city", "b-9"), on)  # under it


def test_a_seat_may_be_given_up_until_the_deadline_and_a_waitlist_place_always():
    starts = datetime(2027, 3, 2, 11, tzinfo=UTC)
    model.check_cancellable("confirmed", starts, 24, starts - timedelta(hours=25))
    model.check_cancellable("waitlisted", starts, 24, starts + timedelta(days=3))
    with pytest.raises(Conflict, match="booking.cancel_deadline_passed"):
        model.check_cancellable("confirmed", starts, 24, starts - timedelta(hours=23))
    with pytest.raises(Conflict, match="booking.not_active"):
        model.check_cancellable("cancelled", starts, 24, starts - timedelta(days=5))


def test_check_in_opens_before_a_session_and_closes_at_its_end():
    class S:
        starts_at = datetime(2027, 3, 2, 11, tzinfo=UTC)
        ends_at = datetime(2027, 3, 2, 12, 30, tzinfo=UTC)

    assert model.session_for_checkin([S], S.starts_at - timedelta(minutes=30), 30) is S
    assert model.session_for_checkin([S], S.ends_at, 30) is S
    with pytest.raises(Conflict, match="checkin.no_session_now"):
        model.session_for_checkin([S], S.starts_at - timedelta(minutes=31), 30)


def test_no_shows_block_at_the_limit_and_a_zero_limit_never_blocks():
    model.check_no_shows(2, 3)
    model.check_no_shows(99, 0)
    with pytest.raises(Forbidden, match="booking.blocked_no_shows"):
        model.check_no_shows(3, 3)


def test_a_child_is_under_18_on_the_day_and_born_by_it():
    today = date(2025, 12, 31)
    model.check_child_birth_date(date(2007, 12, 31) + timedelta(days=1), today)  # 18 tomorrow
    model.check_child_birth_date(today, today)  # born today
    for refused in (date(2007, 12, 31), date(2007, 1, 1), today + timedelta(days=1)):  # 18, 18, unborn
        with pytest.raises(Invalid):
            model.check_child_birth_date(refused, today)
