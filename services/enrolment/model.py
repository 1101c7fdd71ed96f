"""Enrolment's domain: the tree of union units, campaigns, and a member's life in the union.

Plain Python: no Flask, SQL or Kafka. Functions check the rules, change the objects, and return
the event (type and payload) that describes the change for the caller to record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from schemas.events import members as member_events
from services.common.clock import now
from services.common.domain import Conflict, Forbidden, Gone, NotFound

UNIT_KINDS = ("federation", "city", "county", "industry", "branch")

PENDING, ACTIVE, SUSPENDED, LEFT, REJECTED = "pending", "active", "suspended", "left", "rejected"
CURRENT_STATUSES = (PENDING, ACTIVE, SUSPENDED)  # statuses in which a person counts as a member


@dataclass
class Unit:
    id: str
    name: str
    kind: str
    parent_id: str | None
    path: str  # "/<root id>/.../<own id>/" so a subtree is a prefix match
    requires_approval: bool = False

    @property
    def ancestry(self) -> list[str]:
        return [p for p in self.path.split("/") if p]


def child_path(parent: Unit | None, unit_id: str) -> str:
    return f"{parent.path if parent else '/'}{unit_id}/"


def in_scope(unit_path: str, scope_paths: list[str]) -> bool:
    """Whether a unit lies in one of the subtrees an admin manages."""
    return any(unit_path.startswith(scope) for scope in scope_paths)


def check_scope(unit_path: str, scope_paths: list[str]) -> None:
    if not in_scope(unit_path, scope_paths):
        # Outside the admin's subtree we answer as if it did not exist: no probing other branches.
        raise NotFound("unit.not_found")


@dataclass
class Campaign:
    id: str
    unit_id: str
    name: str
    site: str | None
    code: str
    status: str = "active"  # or "revoked"
    expires_at: datetime | None = None

    def check_open(self, at: datetime) -> None:
        if self.status == "revoked":
            raise Gone("campaign.revoked")
        if self.expires_at and at >= self.expires_at:
            raise Gone("campaign.expired")


@dataclass
class Member:
    id: str
    unit_id: str
    status: str
    card_no: str
    campaign_id: str | None = None
    employer: str = ""
    occupation: str = ""
    joined_at: datetime = field(default_factory=now)

    def _require(self, allowed: tuple[str, ...], code: str) -> None:
        if self.status not in allowed:
            raise Conflict(code, status=self.status)


def join_status(unit: Unit) -> str:
    return PENDING if unit.requires_approval else ACTIVE


def joined_event(member: Member, unit: Unit) -> tuple[str, dict]:
    # Events outlive an erasure on the topic: they carry the membership, never what the person told us.
    return member_events.JOINED, {
        "member_id": member.id,
        "branch_id": unit.id,
        "branch_path": unit.ancestry,
        "card_no": member.card_no,
        "status": member.status,
        "occurred_at": now(),
    }


def approve(member: Member) -> tuple[str, dict]:
    member._require((PENDING,), "member.not_pending")
    member.status = ACTIVE
    return member_events.APPROVED, {
        "member_id": member.id,
        "branch_id": member.unit_id,
        "occurred_at": now(),
    }


def reject(member: Member, reason: str | None) -> tuple[str, dict]:
    member._require((PENDING,), "member.not_pending")
    member.status = REJECTED
    return member_events.REJECTED, {
        "member_id": member.id,
        "branch_id": member.unit_id,
        "reason": reason,
        "occurred_at": now(),
    }


def suspend(member: Member, reason: str | None) -> tuple[str, dict]:
    member._require((ACTIVE,), "member.not_active")
    member.status = SUSPENDED
    return member_events.SUSPENDED, {"member_id": member.id, "reason": reason, "occurred_at": now()}


def reinstate(member: Member) -> tuple[str, dict]:
    member._require((SUSPENDED,), "member.not_suspended")
    member.status = ACTIVE
    return member_events.REINSTATED, {"member_id": member.id, "occurred_at": now()}


def transfer(member: Member, to: Unit) -> tuple[str, dict]:
    member._require((ACTIVE, SUSPENDED), "member.not_current")
    if to.kind != "branch":
        raise Conflict("unit.not_branch")
    if to.id == member.unit_id:
        raise Conflict("member.same_branch")
    from_id, member.unit_id = member.unit_id, to.id
    return member_events.TRANSFERRED, {
        "member_id": member.id,
        "from_branch_id": from_id,
        "to_branch_id": to.id,
        "branch_path": to.ancestry,
        "occurred_at": now(),
    }


def leave(member: Member, *, erased: bool = False) -> tuple[str, dict]:
    if not erased:
        member._require(CURRENT_STATUSES, "member.not_current")
    member.status = LEFT
    return member_events.LEFT, {
        "member_id": member.id,
        "reason": "erased" if erased else "left",
        "occurred_at": now(),
    }


# --- identity disputes ------------------------------------------------------------------------------

OPEN, KEPT, MOVED, WITHDRAWN = "open", "kept", "moved", "withdrawn"
OUTCOMES = {"keep": KEPT, "move": MOVED}


@dataclass
class Dispute:
    """A verified person claimed an ID number that a current membership of someone else holds."""

    id: str
    member_id: str
    status: str
    claimant_openid: str | None
    opened_at: datetime = field(default_factory=now)


def resolve(dispute: Dispute, outcome: str) -> None:
    if dispute.status != OPEN:
        raise Conflict("dispute.resolved", status=dispute.status)
    dispute.status = OUTCOMES[outcome]


def withdraw(dispute: Dispute) -> None:
    """The claimant asked for their personal data to be erased: nothing is left to decide on."""
    if dispute.status != OPEN:
        raise Conflict("dispute.resolved", status=dispute.status)
    dispute.status = WITHDRAWN


def reassign(member: Member, unit: Unit) -> tuple[str, dict]:
    """The membership passes to the dispute's claimant: same id, card and branch, another person."""
    member._require(CURRENT_STATUSES, "member.not_current")
    return member_events.REASSIGNED, {
        "member_id": member.id,
        "branch_id": unit.id,
        "branch_path": unit.ancestry,
        "status": member.status,
        "occurred_at": now(),
    }


def check_can_join_branch(unit: Unit) -> None:
    if unit.kind != "branch":
        raise Conflict("unit.not_branch")


def check_admin_may_create_child(parent: Unit, kind: str) -> None:
    if parent.kind == "branch":
        raise Forbidden("unit.branch_has_no_children")
    if UNIT_KINDS.index(kind) <= UNIT_KINDS.index(parent.kind) and kind != "branch":
        raise Conflict("unit.kind_order")


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
