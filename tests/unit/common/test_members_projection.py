"""The projection of member events that courses, merchants and stations keep, on SQLite and
PostgreSQL with the in-memory dispatcher: each event sets what it says, once, and inactive members
are reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData

from events.catalogue import CATALOGUE
from events.dispatch import Dispatcher, Outcome
from schemas.events import members as m
from services.common.db import Database
from services.common.domain import Forbidden
from services.common.errors import Problem
from services.common.members import (
    MemberProjection,
    add_members_table,
    find,
    require_active,
)
from services.common.moved_memberships import MovedMemberships
from tests.support import SQLITE_AND_POSTGRES, fresh_postgres_database, member_event


@pytest.fixture(params=SQLITE_AND_POSTGRES)
def rig(request, tmp_path):
    if request.param == "sqlite":
        yield from _rig(f"sqlite:///{tmp_path}/p.db")
    else:
        with fresh_postgres_database("projection") as url:
            yield from _rig(url)


def _rig(url: str):
    metadata = MetaData()
    table = add_members_table(metadata)
    db = Database(url, metadata)
    db.create_all()
    gone: list[tuple] = []  # (member id, reason), and the cut-off when there is one

    def on_inactive(uow, member_id, reason, before):
        gone.append((member_id, reason) if before is None else (member_id, reason, before))

    projection = MemberProjection(table, on_inactive=on_inactive)
    dispatcher = Dispatcher("test", projection.handlers, CATALOGUE, db.unit_of_work, db.inbox)
    yield db, table, dispatcher, gone
    db.engine.dispose()


def _member(db, table, member_id):
    with db.engine.connect() as conn:
        return find(conn, table, member_id)


def test_a_joined_member_is_active_with_branch_and_card(rig):
    db, table, dispatcher, _ = rig
    dispatcher.deliver(member_event(m.JOINED, "m1"))

    member = _member(db, table, "m1")
    assert (member.status, member.branch_path, member.active) == ("active", ("root", "b-1"), True)
    assert member.card_no


@pytest.mark.parametrize(
    ("event_type", "extra", "status", "reason"),
    [
        (m.SUSPENDED, {}, "suspended", "suspended"),
        (m.LEFT, {"reason": "left"}, "left", "left"),
        (m.LEFT, {"reason": "erased"}, "left", "erased"),
        (m.REJECTED, {"branch_id": "b-1"}, "rejected", "rejected"),
    ],
)
def test_a_member_who_stops_being_active_is_refused_and_reported(rig, event_type, extra, status, reason):
    db, table, dispatcher, gone = rig
    dispatcher.deliver(member_event(m.JOINED, "m1"))

    dispatcher.deliver(member_event(event_type, "m1", **extra))

    assert _member(db, table, "m1").status == status
    assert gone == [("m1", reason)]
    with db.engine.connect() as conn, pytest.raises(Forbidden) as refused:
        require_active(conn, table, "m1")
    assert refused.value.code == f"member.{status}"


def test_reinstatement_and_transfer_are_followed(rig):
    db, table, dispatcher, _ = rig
    dispatcher.deliver(member_event(m.JOINED, "m1"))
    dispatcher.deliver(member_event(m.SUSPENDED, "m1"))
    dispatcher.deliver(member_event(m.REINSTATED, "m1"))
    dispatcher.deliver(
        member_event(
            m.TRANSFERRED, "m1", from_branch_id="b-1", to_branch_id="b-2", branch_path=["root", "b-2"]
        )
    )

    member = _member(db, table, "m1")
    assert (member.status, member.branch_id, member.branch_path) == ("active", "b-2", ("root", "b-2"))


def test_a_suspension_of_a_member_never_seen_joining_is_remembered(rig):
    db, table, dispatcher, _ = rig

    dispatcher.deliver(member_event(m.SUSPENDED, "old-member"))

    assert _member(db, table, "old-member").status == "suspended"


def test_a_join_replayed_after_a_later_status_fills_in_its_branch_and_card_and_keeps_the_status(rig):
    # The join was dead-lettered; the suspension that followed it made the row without a branch.
    db, table, dispatcher, gone = rig
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    dispatcher.deliver(member_event(m.SUSPENDED, "m1", occurred_at=(at + timedelta(hours=1)).isoformat()))
    joined = member_event(m.JOINED, "m1", occurred_at=at.isoformat())

    dispatcher.deliver(joined)

    member = _member(db, table, "m1")
    assert (member.status, member.branch_id, member.branch_path) == ("suspended", "b-1", ("root", "b-1"))
    assert member.card_no == joined.data["card_no"]
    assert gone == [("m1", "suspended")]
    # A row that has its branch keeps it: a transfer since is not undone by an old join.
    dispatcher.deliver(
        member_event(
            m.TRANSFERRED, "m1", from_branch_id="b-1", to_branch_id="b-2", branch_path=["root", "b-2"],
            occurred_at=(at + timedelta(hours=2)).isoformat(),
        )
    )  # fmt: skip
    dispatcher.deliver(member_event(m.JOINED, "m1", occurred_at=at.isoformat(), card_no="5200000000000000"))
    member = _member(db, table, "m1")
    assert (member.branch_id, member.card_no) == ("b-2", joined.data["card_no"])


def test_a_move_to_another_person_replayed_late_still_ends_what_the_previous_holder_left(rig):
    # The dispute's decision was dead-lettered, and the membership was suspended since.
    db, table, dispatcher, gone = rig
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    dispatcher.deliver(member_event(m.JOINED, "m1", occurred_at=at.isoformat()))
    dispatcher.deliver(member_event(m.SUSPENDED, "m1", occurred_at=(at + timedelta(hours=2)).isoformat()))

    dispatcher.deliver(member_event(m.REASSIGNED, "m1", occurred_at=(at + timedelta(hours=1)).isoformat()))

    assert _member(db, table, "m1").status == "suspended"  # the later state stays
    # Only what was arranged before the move: what the new holder arranged since is theirs.
    assert gone == [("m1", "suspended"), ("m1", "reassigned", at + timedelta(hours=1))]


def test_a_redelivered_event_is_a_duplicate_and_an_unknown_member_is_refused(rig):
    db, table, dispatcher, gone = rig
    event = member_event(m.SUSPENDED, "m1")

    assert dispatcher.deliver(event)[0] is Outcome.APPLIED
    assert dispatcher.deliver(event)[0] is Outcome.DUPLICATE
    assert len(gone) == 1
    with db.engine.connect() as conn, pytest.raises(Forbidden, match="member.unknown"):
        require_active(conn, table, "nobody")


def test_an_event_older_than_the_row_changes_nothing_and_reports_no_one(rig):
    # A suspension dead-lettered, then replayed after the reinstatement that followed it.
    db, table, dispatcher, gone = rig
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    dispatcher.deliver(member_event(m.JOINED, "m1", occurred_at=at.isoformat()))
    dispatcher.deliver(member_event(m.REINSTATED, "m1", occurred_at=(at + timedelta(hours=2)).isoformat()))

    dispatcher.deliver(member_event(m.SUSPENDED, "m1", occurred_at=(at + timedelta(hours=1)).isoformat()))
    dispatcher.deliver(member_event(m.JOINED, "m1", status="pending", occurred_at=at.isoformat()))

    member = _member(db, table, "m1")
    assert (member.status, member.branch_path) == ("active", ("root", "b-1"))
    assert gone == []
    # A later event still applies.
    dispatcher.deliver(member_event(m.SUSPENDED, "m1", occurred_at=(at + timedelta(hours=3)).isoformat()))
    assert _member(db, table, "m1").status == "suspended"
    assert gone == [("m1", "suspended")]


def _transfer(at: datetime, to: str = "b-2"):
    return member_event(
        m.TRANSFERRED, "m1", from_branch_id="b-1", to_branch_id=to, branch_path=["root", to],
        occurred_at=at.isoformat(),
    )  # fmt: skip


def test_a_suspension_replayed_after_a_later_transfer_still_suspends(rig):
    # Status and branch are two facts: the transfer since says nothing about the status.
    db, table, dispatcher, gone = rig
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    dispatcher.deliver(member_event(m.JOINED, "m1", occurred_at=at.isoformat()))
    dispatcher.deliver(_transfer(at + timedelta(hours=2)))

    dispatcher.deliver(member_event(m.SUSPENDED, "m1", occurred_at=(at + timedelta(hours=1)).isoformat()))

    member = _member(db, table, "m1")
    assert (member.status, member.branch_id) == ("suspended", "b-2")
    assert gone == [("m1", "suspended")]


def test_a_transfer_replayed_after_a_later_status_still_moves_and_an_older_one_does_not(rig):
    db, table, dispatcher, gone = rig
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    dispatcher.deliver(member_event(m.JOINED, "m1", occurred_at=at.isoformat()))
    dispatcher.deliver(member_event(m.SUSPENDED, "m1", occurred_at=(at + timedelta(hours=2)).isoformat()))

    dispatcher.deliver(_transfer(at + timedelta(hours=1)))
    assert (_member(db, table, "m1").status, _member(db, table, "m1").branch_id) == ("suspended", "b-2")
    dispatcher.deliver(_transfer(at + timedelta(minutes=30), to="b-3"))  # older than the one applied
    assert _member(db, table, "m1").branch_id == "b-2"
    # Nor does a late move to another person carry its older branch over the transfer.
    dispatcher.deliver(member_event(m.REASSIGNED, "m1", occurred_at=(at + timedelta(minutes=45)).isoformat()))
    assert _member(db, table, "m1").branch_id == "b-2"


def test_a_token_issued_before_its_membership_moved_to_another_person_is_refused(rig):
    db, table, dispatcher, _ = rig
    moved = MovedMemberships(db.engine, table, refresh_seconds=0)
    at = datetime.now(UTC).replace(microsecond=500_000)
    dispatcher.deliver(member_event(m.JOINED, "m1", occurred_at=(at - timedelta(hours=1)).isoformat()))
    moved.check("m1", int(at.timestamp()) - 60)  # nothing moved yet

    dispatcher.deliver(member_event(m.REASSIGNED, "m1", occurred_at=at.isoformat()))

    for issued in (int(at.timestamp()) - 60, int(at.timestamp())):  # the previous holder's
        with pytest.raises(Problem) as refused:
            moved.check("m1", issued)
        assert (refused.value.status, refused.value.code) == (401, "token_invalid")
    moved.check("m1", int(at.timestamp()) + 1)  # the new holder logged in after the decision
    moved.check("m2", int(at.timestamp()) - 60)  # another member


def test_moved_memberships_are_read_again_at_most_every_interval(rig):
    db, table, dispatcher, _ = rig
    moved = MovedMemberships(db.engine, table, refresh_seconds=3600)
    moved.check("m1", 0)  # the first read: nothing moved

    dispatcher.deliver(member_event(m.REASSIGNED, "m1"))

    moved.check("m1", 0)  # not read again within the interval
    moved.refresh_seconds = 0
    with pytest.raises(Problem):
        moved.check("m1", 0)
