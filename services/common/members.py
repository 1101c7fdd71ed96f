"""What a service knows of members: a projection of the members topic, kept by its event worker.

Courses, merchants and stations never ask enrolment whether a member may act; they look here. The
projection holds what member events carry (id, status, branch and its ancestry, card number) and
never personal data. Each event arrives once (the inbox) and in order per member (the topic is keyed
by member id), so a handler can set the row to what the event says.

A service that must react when a member stops being active (cancel bookings, take them off a rota)
passes ``on_inactive``; it runs in the same transaction as the projection's change, so the reaction
and the record of the event commit together.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    MetaData,
    String,
    Table,
    bindparam,
    case,
    func,
    select,
    update,
)

from events.envelope import Event
from schemas.events import members as member_events

from . import sql
from .domain import Forbidden
from .sql import insert_on_conflict

ACTIVE = "active"


def add_members_table(metadata: MetaData) -> Table:
    return Table(
        "members",
        metadata,
        Column("member_id", String(64), primary_key=True),
        Column("status", String(16), nullable=False),
        Column("branch_id", String(64), nullable=True),
        Column("branch_path", JSON, nullable=True),  # ancestor unit ids, federation first
        Column("card_no", String(32), nullable=True),
        # The time of the event that set the status, and of the one that set the branch: two facts,
        # each guarded by its own, so a transfer does not make an older suspension look stale.
        Column("updated_at", DateTime(timezone=True), nullable=False),
        Column("branch_at", DateTime(timezone=True), nullable=True),
        # When the membership last moved to another person (member.reassigned): tokens issued
        # before it are the previous holder's (MovedMemberships).
        Column("holder_since", DateTime(timezone=True), nullable=True, index=True),
        info={"member_projection": True},  # how create_service_app finds it, for MovedMemberships
    )


@dataclass(frozen=True)
class Member:
    member_id: str
    status: str
    branch_id: str | None
    branch_path: tuple[str, ...]
    card_no: str | None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


# (uow, member id, reason: "suspended" | "left" | "erased" | "rejected" | "reassigned", before):
# end what the member arranged; all of it when ``before`` is None, else only what was arranged
# before that moment (a membership moved to another person: what the new holder arranged since is
# theirs, should the event that moved it arrive late).
OnInactive = Callable[[object, str, str, datetime | None], None]


def find(conn: Connection, table: Table, member_id: str, *, lock: bool = False) -> Member | None:
    """The member as this service knows them; ``lock`` holds their row to the end of the
    transaction, so one member's concurrent requests go one at a time."""
    return member_of(sql.fetch(conn, *find_statement(table, member_id, lock=lock)))


def find_statement(table: Table, member_id: str, *, lock: bool = False) -> tuple:
    """``find``'s statement and parameters, for a caller that sends it with others
    (``sql.fetch_in_turn``); ``member_of`` reads its rows."""
    return _find(table, lock), {"member_id": member_id}


def member_of(rows: list) -> Member | None:
    if not rows:
        return None
    row = rows[0]
    return Member(row.member_id, row.status, row.branch_id, tuple(row.branch_path or ()), row.card_no)


@functools.cache
def _find(table: Table, lock: bool):
    # Built once per table, the id a parameter: built per call, SQLAlchemy worked out the statement's
    # cache key on every booking and redemption (docs/benchmarks.md, "Course booking burst").
    query = select(table).where(table.c.member_id == bindparam("member_id"))
    return query.with_for_update() if lock else query


def require_active(conn: Connection, table: Table, member_id: str | None, *, lock: bool = False) -> Member:
    """The caller's membership, or a 403 that says why it may not act (unknown, suspended, left)."""
    return check_active(find(conn, table, member_id, lock=lock) if member_id else None)


def check_active(member: Member | None) -> Member:
    """``require_active`` for a member the caller read itself (None: not in the projection)."""
    if member is None:
        # Joined a moment ago and the event has not arrived yet, or never joined.
        raise Forbidden("member.unknown")
    if not member.active:
        raise Forbidden(f"member.{member.status}" if member.status in _INACTIVE else "member.inactive")
    return member


_INACTIVE = ("pending", "suspended", "left", "rejected")


class MemberProjection:
    """The handlers that keep one service's ``members`` table, with their statements built once.

    An event older than what a row holds changes nothing (a status asks ``updated_at <= `` the
    event's time, a branch ``branch_at <=``), nor is the member reported inactive for it: a
    member's events arrive in order on their partition, but one dead-lettered and replayed later
    arrives after the member's later ones (a suspension replayed after the reinstatement that
    followed it). Status and branch are kept apart: a suspension replayed after a later transfer is
    still the latest status, and applies."""

    def __init__(self, table: Table, on_inactive: OnInactive | None = None):
        self.table = table
        self.on_inactive = on_inactive
        self._upserts = {}  # dialect name -> INSERT ... ON CONFLICT DO UPDATE, built on first use
        c = table.c
        not_newer = (c.member_id == bindparam("m")) & (c.updated_at <= bindparam("at"))
        self._set_status = (
            update(table).where(not_newer).values(status=bindparam("s"), updated_at=bindparam("at"))
        )
        branch_not_newer = c.branch_at.is_(None) | (c.branch_at <= bindparam("at"))
        self._move = (
            update(table)
            .where(c.member_id == bindparam("m"), branch_not_newer)
            .values(branch_id=bindparam("b"), branch_path=bindparam("p"), branch_at=bindparam("at"))
        )
        moved_before = c.holder_since.is_(None) | (c.holder_since < bindparam("at"))
        self._new_holder = (
            update(table)
            .where(c.member_id == bindparam("m"), moved_before)
            .values(holder_since=bindparam("at"))
        )
        # What only a join carries, for a row a later event made without it (``joined``).
        branchless = c.branch_id.is_(None)
        self._fill_in = (
            update(table)
            .where(c.member_id == bindparam("m"), branchless | c.card_no.is_(None))
            .values(
                branch_id=case((branchless, bindparam("b")), else_=c.branch_id),
                branch_path=case((branchless, bindparam("p", type_=c.branch_path.type)), else_=c.branch_path),
                branch_at=case((branchless, bindparam("at", type_=c.branch_at.type)), else_=c.branch_at),
                card_no=func.coalesce(c.card_no, bindparam("c")),
            )
        )

    @property
    def handlers(self) -> dict[str, Callable[[Event, object], None]]:
        return {
            member_events.JOINED_V1: self.joined,
            member_events.JOINED: self.joined,
            member_events.REASSIGNED: self.reassigned,
            member_events.APPROVED: self.status("active"),
            member_events.REINSTATED: self.status("active"),
            member_events.REJECTED: self.status("rejected"),
            member_events.SUSPENDED: self.status("suspended"),
            member_events.LEFT: self.left,
            member_events.TRANSFERRED: self.transferred,
        }

    def _upsert(self, conn: Connection):
        dialect = conn.dialect.name
        if dialect not in self._upserts:
            insert = insert_on_conflict(conn, self.table)
            c, new = self.table.c, insert.excluded
            # The branch only over an older one: a transfer applied first keeps its branch.
            branch_older = c.branch_at.is_(None) | (c.branch_at <= new.branch_at)
            set_ = {name: new[name] for name in ("status", "card_no", "updated_at")}
            for name in ("branch_id", "branch_path", "branch_at"):
                set_[name] = case((branch_older, new[name]), else_=c[name])
            self._upserts[dialect] = insert.on_conflict_do_update(
                index_elements=[c.member_id], set_=set_, where=c.updated_at <= new.updated_at
            ).returning(c.member_id)
        return self._upserts[dialect]

    def _upserted(self, uow, row: dict) -> bool:
        """Whether the row was written: not when the one there holds a later event's state."""
        return uow.connection.execute(self._upsert(uow.connection), row).first() is not None

    def joined(self, event: Event, uow) -> None:
        data = event.data
        if self._joined(uow, data, data["card_no"]):
            if data["status"] != ACTIVE and self.on_inactive:
                self.on_inactive(uow, data["member_id"], data["status"], None)
            return
        # A later event's state is there: a status event applied first made the row, with no branch
        # or card, and this join was dead-lettered and replayed. Its status stays; the branch and
        # card only the join carries are filled in, or branch-limited courses would refuse the
        # member and rosters show no card until a transfer.
        uow.connection.execute(
            self._fill_in,
            {
                "m": data["member_id"],
                "b": data["branch_id"],
                "p": list(data["branch_path"]),
                "c": data["card_no"],
                "at": data["occurred_at"],
            },
        )

    def reassigned(self, event: Event, uow) -> None:
        """The membership moved to another person (an identity dispute's decision): the same member
        id serves them, and what the previous holder had tied to it ends, as when a member leaves —
        their future bookings and duties, their children's details (reason ``reassigned``)."""
        data = event.data
        existing = find(uow.connection, self.table, data["member_id"])  # the same card: not repeated
        self._joined(uow, data, existing.card_no if existing else None)
        uow.connection.execute(self._new_holder, {"m": data["member_id"], "at": data["occurred_at"]})
        # Even when a later event's state is kept (this one dead-lettered, replayed after): what the
        # previous holder left is theirs whatever happened to the membership since; what was
        # arranged after the move is the new holder's, and stays.
        if self.on_inactive:
            self.on_inactive(uow, data["member_id"], "reassigned", data["occurred_at"])

    def _joined(self, uow, data: dict, card_no: str | None) -> bool:
        return self._upserted(
            uow,
            {
                "member_id": data["member_id"],
                "status": data["status"],
                "branch_id": data["branch_id"],
                "branch_path": list(data["branch_path"]),
                "card_no": card_no,
                "updated_at": data["occurred_at"],
                "branch_at": data["occurred_at"],
            },
        )

    def status(self, status: str) -> Callable[[Event, object], None]:
        def handle(event: Event, uow) -> None:
            self._change(uow, event, status, reason=status)

        handle.__name__ = f"member_{status}"
        return handle

    def left(self, event: Event, uow) -> None:
        self._change(uow, event, "left", reason=event.data["reason"])

    def transferred(self, event: Event, uow) -> None:
        data = event.data
        uow.connection.execute(
            self._move,
            {
                "m": data["member_id"],
                "b": data["to_branch_id"],
                "p": list(data["branch_path"]),
                "at": data["occurred_at"],
            },
        )

    def _change(self, uow, event: Event, status: str, *, reason: str) -> None:
        data = event.data
        changed = uow.connection.execute(
            self._set_status, {"m": data["member_id"], "s": status, "at": data["occurred_at"]}
        ).rowcount
        if not changed:
            # A member this service never saw join (joined before the service existed, or the join
            # fell off the topic's retention): remember the state, so they are refused, not unknown.
            # Or one whose row holds a later event: then nothing is written.
            changed = self._upserted(
                uow,
                {
                    "member_id": data["member_id"],
                    "status": status,
                    "branch_id": None,
                    "branch_path": None,
                    "card_no": None,
                    "updated_at": data["occurred_at"],
                    "branch_at": None,
                },
            )
        if changed and status != ACTIVE and self.on_inactive:
            self.on_inactive(uow, data["member_id"], reason, None)
