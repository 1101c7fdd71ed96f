"""Enrolment's domain rules, in plain Python: a member's life, campaigns, admin scopes, the unit tree.

The rules decide what HTTP answers (the error codes) and what other services hear (the event type
and payload), so each transition is checked both ways: allowed with its event, refused with its code
and nothing changed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from schemas.events import members as member_events
from services.common.domain import Conflict, Forbidden, Gone, NotFound
from services.enrolment import model
from services.enrolment.model import (
    ACTIVE,
    CURRENT_STATUSES,
    LEFT,
    PENDING,
    REJECTED,
    SUSPENDED,
    UNIT_KINDS,
    Campaign,
    Member,
    Unit,
)

ALL_STATUSES = (PENDING, ACTIVE, SUSPENDED, LEFT, REJECTED)
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def unit(unit_id: str, kind: str = "branch", parent: Unit | None = None, *, requires_approval=False) -> Unit:
    return Unit(
        unit_id,
        f"{unit_id} 工会",
        kind,
        parent.id if parent else None,
        model.child_path(parent, unit_id),
        requires_approval=requires_approval,
    )


ROOT = unit("root", "federation")
CITY = unit("city", "city", ROOT)
BRANCH_A = unit("branch-a", "branch", CITY)
BRANCH_B = unit("branch-b", "branch", CITY)


def member(status: str = ACTIVE, unit_id: str = BRANCH_A.id) -> Member:
    return Member(
        id="m-1",
        unit_id=unit_id,
        status=status,
        card_no="GH5200000000017",
        campaign_id="c-1",
        employer="顺丰速运",
        occupation="快递员",
    )


def assert_event(change, event_type: str, keys: set[str]) -> dict:
    """The change names ``event_type``, carries exactly ``keys``, and its payload passes the event's
    published schema (which drops unknown keys silently, hence the exact key check)."""
    emitted_type, payload = change
    assert emitted_type == event_type
    assert set(payload) == keys
    schema = member_events.SCHEMAS[event_type]()
    assert set(schema.fields) == keys
    assert schema.validate(schema.dump(payload)) == {}
    occurred = payload["occurred_at"]
    assert occurred.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - occurred) < timedelta(seconds=5)
    return payload


def assert_refused(action, subject: Member, error: type, code: str, **params) -> None:
    before = (subject.status, subject.unit_id)
    with pytest.raises(error) as refused:
        action(subject)
    assert type(refused.value) is error
    assert refused.value.code == code
    assert refused.value.params == params
    assert (subject.status, subject.unit_id) == before


def refused_from(allowed: tuple[str, ...]) -> list[str]:
    return [s for s in ALL_STATUSES if s not in allowed]


# --- joining ----------------------------------------------------------------------------------------


def test_an_open_branch_makes_members_active_and_an_approval_branch_makes_them_pending():
    assert model.join_status(BRANCH_A) == ACTIVE
    assert model.join_status(unit("b-approval", "branch", CITY, requires_approval=True)) == PENDING


@pytest.mark.parametrize("status", [ACTIVE, PENDING])
def test_the_joined_event_carries_the_card_the_branch_and_its_ancestry_and_nothing_the_person_told(status):
    joined = member(status)

    payload = assert_event(
        model.joined_event(joined, BRANCH_A),
        member_events.JOINED,
        {"member_id", "branch_id", "branch_path", "card_no", "status", "occurred_at"},
    )

    assert member_events.JOINED == "unionhub.member.joined.v2"
    assert payload["member_id"] == "m-1" and payload["card_no"] == "GH5200000000017"
    assert payload["branch_id"] == BRANCH_A.id
    assert payload["branch_path"] == ["root", "city", "branch-a"]  # federation down to the branch
    assert payload["status"] == status
    # A Kafka record outlives an erasure: employer, occupation and campaign stay in enrolment.
    assert "顺丰速运" not in str(payload) and "快递员" not in str(payload) and "c-1" not in str(payload)


# --- identity disputes ------------------------------------------------------------------------------


def dispute(status: str = model.OPEN) -> model.Dispute:
    return model.Dispute("d-1", "m-1", status, "o-claimant")


@pytest.mark.parametrize(("outcome", "status"), [("keep", model.KEPT), ("move", model.MOVED)])
def test_an_open_dispute_is_resolved_once(outcome, status):
    open_one = dispute()
    model.resolve(open_one, outcome)
    assert open_one.status == status
    with pytest.raises(Conflict) as error:
        model.resolve(open_one, "keep")
    assert error.value.code == "dispute.resolved"


@pytest.mark.parametrize("status", [ACTIVE, PENDING, SUSPENDED])
def test_a_current_membership_is_reassigned_with_its_branch_and_no_personal_data(status):
    payload = assert_event(
        model.reassign(member(status), BRANCH_A),
        member_events.REASSIGNED,
        {"member_id", "branch_id", "branch_path", "status", "occurred_at"},
    )
    assert (payload["branch_id"], payload["branch_path"], payload["status"]) == (
        BRANCH_A.id, ["root", "city", "branch-a"], status,
    )  # fmt: skip


@pytest.mark.parametrize("status", [LEFT, REJECTED])
def test_a_membership_that_ended_cannot_be_reassigned(status):
    with pytest.raises(Conflict) as error:
        model.reassign(member(status), BRANCH_A)
    assert error.value.code == "member.not_current"


def test_the_joined_event_never_carries_the_resident_id_or_the_mobile():
    _, payload = model.joined_event(member(), BRANCH_A)
    assert not {"id_number", "mobile", "name"} & set(payload)


@pytest.mark.parametrize("kind", [k for k in UNIT_KINDS if k != "branch"])
def test_only_a_branch_takes_members(kind):
    model.check_can_join_branch(BRANCH_A)
    with pytest.raises(Conflict) as refused:
        model.check_can_join_branch(unit("u", kind, ROOT))
    assert refused.value.code == "unit.not_branch"


# --- approve and reject -----------------------------------------------------------------------------


def test_approving_a_pending_applicant_makes_them_active():
    applicant = member(PENDING)

    payload = assert_event(
        model.approve(applicant), member_events.APPROVED, {"member_id", "branch_id", "occurred_at"}
    )

    assert applicant.status == ACTIVE
    assert payload["member_id"] == "m-1" and payload["branch_id"] == BRANCH_A.id


@pytest.mark.parametrize("status", refused_from((PENDING,)))
def test_only_a_pending_applicant_can_be_approved(status):
    assert_refused(model.approve, member(status), Conflict, "member.not_pending", status=status)


def test_rejecting_a_pending_applicant_records_the_reason():
    applicant = member(PENDING)

    payload = assert_event(
        model.reject(applicant, "材料不全"),
        member_events.REJECTED,
        {"member_id", "branch_id", "reason", "occurred_at"},
    )

    assert applicant.status == REJECTED
    assert payload["reason"] == "材料不全" and payload["branch_id"] == BRANCH_A.id


def test_a_rejection_may_give_no_reason():
    _, payload = model.reject(member(PENDING), None)
    assert payload["reason"] is None


@pytest.mark.parametrize("status", refused_from((PENDING,)))
def test_only_a_pending_applicant_can_be_rejected(status):
    assert_refused(
        lambda m: model.reject(m, "x"), member(status), Conflict, "member.not_pending", status=status
    )


# --- suspend and reinstate --------------------------------------------------------------------------


def test_suspending_an_active_member_records_the_reason():
    subject = member(ACTIVE)

    payload = assert_event(
        model.suspend(subject, "欠缴会费"), member_events.SUSPENDED, {"member_id", "reason", "occurred_at"}
    )

    assert subject.status == SUSPENDED
    assert payload == {"member_id": "m-1", "reason": "欠缴会费", "occurred_at": payload["occurred_at"]}


@pytest.mark.parametrize("status", refused_from((ACTIVE,)))
def test_only_an_active_member_can_be_suspended(status):
    assert_refused(
        lambda m: model.suspend(m, "x"), member(status), Conflict, "member.not_active", status=status
    )


def test_reinstating_a_suspended_member_makes_them_active():
    subject = member(SUSPENDED)

    payload = assert_event(model.reinstate(subject), member_events.REINSTATED, {"member_id", "occurred_at"})

    assert subject.status == ACTIVE
    assert payload["member_id"] == "m-1"


@pytest.mark.parametrize("status", refused_from((SUSPENDED,)))
def test_only_a_suspended_member_can_be_reinstated(status):
    assert_refused(model.reinstate, member(status), Conflict, "member.not_suspended", status=status)


# --- transfer ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [ACTIVE, SUSPENDED])
def test_a_current_member_moves_to_another_branch_keeping_their_status(status):
    subject = member(status)

    payload = assert_event(
        model.transfer(subject, BRANCH_B),
        member_events.TRANSFERRED,
        {"member_id", "from_branch_id", "to_branch_id", "branch_path", "occurred_at"},
    )

    assert (subject.status, subject.unit_id) == (status, BRANCH_B.id)
    assert payload["from_branch_id"] == BRANCH_A.id and payload["to_branch_id"] == BRANCH_B.id
    assert payload["branch_path"] == ["root", "city", "branch-b"]


@pytest.mark.parametrize("status", refused_from((ACTIVE, SUSPENDED)))
def test_a_pending_rejected_or_departed_member_cannot_be_transferred(status):
    # A pending applicant is approved or rejected where they applied; they are not moved.
    assert_refused(
        lambda m: model.transfer(m, BRANCH_B), member(status), Conflict, "member.not_current", status=status
    )


def test_the_status_is_checked_before_the_destination():
    assert_refused(
        lambda m: model.transfer(m, CITY), member(LEFT), Conflict, "member.not_current", status=LEFT
    )


@pytest.mark.parametrize("kind", [k for k in UNIT_KINDS if k != "branch"])
def test_a_member_can_only_be_transferred_to_a_branch(kind):
    assert_refused(lambda m: model.transfer(m, unit("u", kind, ROOT)), member(), Conflict, "unit.not_branch")


def test_a_transfer_to_the_members_own_branch_is_refused():
    assert_refused(lambda m: model.transfer(m, BRANCH_A), member(), Conflict, "member.same_branch")


# --- leaving and erasure ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", CURRENT_STATUSES)
def test_a_current_member_or_applicant_may_leave(status):
    subject = member(status)

    payload = assert_event(model.leave(subject), member_events.LEFT, {"member_id", "reason", "occurred_at"})

    assert subject.status == LEFT
    assert payload["reason"] == "left"


@pytest.mark.parametrize("status", refused_from(CURRENT_STATUSES))
def test_someone_who_left_or_was_rejected_cannot_leave(status):
    assert_refused(model.leave, member(status), Conflict, "member.not_current", status=status)


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_erasure_ends_the_membership_whatever_its_status(status):
    # A deletion request must succeed even for someone who left long ago or was never admitted.
    subject = member(status)

    payload = assert_event(
        model.leave(subject, erased=True), member_events.LEFT, {"member_id", "reason", "occurred_at"}
    )

    assert subject.status == LEFT
    assert payload["reason"] == "erased"


def test_the_statuses_that_count_as_a_membership():
    assert set(CURRENT_STATUSES) == {PENDING, ACTIVE, SUSPENDED}


# --- campaigns --------------------------------------------------------------------------------------


def campaign(status: str = "active", expires_at: datetime | None = None) -> Campaign:
    return Campaign("c-1", BRANCH_A.id, "扫码入会", "南明区快递驿站", "CODE1", status, expires_at)


def test_an_active_campaign_without_an_expiry_is_open():
    campaign().check_open(T0)
    campaign().check_open(T0 + timedelta(days=3650))


def test_a_campaign_is_open_until_its_expiry():
    campaign(expires_at=T0 + timedelta(seconds=1)).check_open(T0)


@pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1), timedelta(days=30)])
def test_a_campaign_is_gone_from_the_moment_it_expires(late):
    with pytest.raises(Gone) as refused:
        campaign(expires_at=T0).check_open(T0 + late)
    assert refused.value.code == "campaign.expired"


@pytest.mark.parametrize("expires_at", [None, T0 + timedelta(days=1), T0 - timedelta(days=1)])
def test_a_revoked_campaign_is_gone_as_revoked_even_when_also_expired(expires_at):
    with pytest.raises(Gone) as refused:
        campaign("revoked", expires_at).check_open(T0)
    assert refused.value.code == "campaign.revoked"


# --- the unit tree and admin scopes -----------------------------------------------------------------


def test_a_units_path_lists_its_ancestors_from_the_federation_down():
    assert ROOT.path == "/root/" and ROOT.ancestry == ["root"]
    assert BRANCH_A.path == "/root/city/branch-a/"
    assert BRANCH_A.ancestry == ["root", "city", "branch-a"]
    assert model.child_path(None, "x") == "/x/"


@pytest.mark.parametrize(
    ("target", "scopes", "inside"),
    [
        (BRANCH_A, [ROOT.path], True),  # the federation admin sees everything
        (BRANCH_A, [CITY.path], True),
        (CITY, [CITY.path], True),  # an admin's own unit is in their scope
        (BRANCH_A, [BRANCH_A.path], True),
        (CITY, [BRANCH_A.path], False),  # not upwards
        (BRANCH_B, [BRANCH_A.path], False),  # not sideways
        (BRANCH_B, [BRANCH_A.path, BRANCH_B.path], True),  # any one of several scopes
        (BRANCH_A, [], False),  # no scope, nothing
        # Paths end in "/", so a scope is never matched by a unit whose id merely starts the same way.
        (unit("branch-ab", "branch", CITY), ["/root/city/branch-a/"], False),
    ],
)
def test_a_unit_is_in_scope_only_inside_one_of_the_admins_subtrees(target, scopes, inside):
    assert model.in_scope(target.path, scopes) is inside
    if inside:
        model.check_scope(target.path, scopes)
    else:
        with pytest.raises(NotFound) as refused:
            model.check_scope(target.path, scopes)
        # Outside the subtree it is "not found", not "forbidden": admins cannot probe other branches.
        assert refused.value.code == "unit.not_found"


def test_unit_kinds_run_from_the_federation_down_to_the_branch():
    assert UNIT_KINDS == ("federation", "city", "county", "industry", "branch")


@pytest.mark.parametrize("parent_kind", [k for k in UNIT_KINDS if k != "branch"])
@pytest.mark.parametrize("kind", UNIT_KINDS)
def test_a_child_unit_must_rank_below_its_parent_except_a_branch_which_goes_anywhere(parent_kind, kind):
    parent = unit("p", parent_kind, None)
    if kind == "branch" or UNIT_KINDS.index(kind) > UNIT_KINDS.index(parent_kind):
        model.check_admin_may_create_child(parent, kind)
    else:
        with pytest.raises(Conflict) as refused:
            model.check_admin_may_create_child(parent, kind)
        assert refused.value.code == "unit.kind_order"


@pytest.mark.parametrize("kind", UNIT_KINDS)
def test_a_branch_has_no_child_units(kind):
    with pytest.raises(Forbidden) as refused:
        model.check_admin_may_create_child(BRANCH_A, kind)
    assert refused.value.code == "unit.branch_has_no_children"


# --- age --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (date(1990, 3, 7), date(2026, 3, 6), 35),  # the day before the birthday
        (date(1990, 3, 7), date(2026, 3, 7), 36),  # on the birthday
        (date(1990, 3, 7), date(2026, 12, 31), 36),
        (date(2008, 2, 29), date(2026, 2, 28), 17),  # born on 29 February: not yet in a common year
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(2026, 1, 1), date(2026, 1, 1), 0),
    ],
)
def test_age_counts_whole_years_lived(birth, today, age):
    assert model.age_on(birth, today) == age
