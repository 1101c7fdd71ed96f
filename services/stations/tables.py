"""Stations' tables: stations and who runs them, the duty rota and its shifts, lockers, issues, visits."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)

from events.store import add_bus_tables
from services.common.idempotency import add_idempotency_table
from services.common.members import add_members_table

metadata = MetaData()

stations = Table(
    "stations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("address", String(200), nullable=False),
    Column("lat", Float, nullable=False),
    Column("lng", Float, nullable=False),
    Column("branch_id", String(64), nullable=False),
    Column("branch_path", JSON, nullable=False),  # learned from enrolment at creation; scopes admins
    Column("amenities", JSON, nullable=False),
    Column("opening_hours", String(500), nullable=False),
    Column("lockers", Integer, nullable=False),
    # Bumped by a revoke: codes printed with an older generation no longer check anyone in.
    Column("qr_generation", Integer, nullable=False),
    Column("status", String(10), nullable=False),  # live: open while a volunteer is checked in
    Column("status_at", DateTime(timezone=True), nullable=True),
    Column("on_duty_group_id", String(36), nullable=True),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Which coordinator (staff id) runs which station: the only thing that lets a coordinator act.
station_coordinators = Table(
    "station_coordinators",
    metadata,
    Column("station_id", String(36), ForeignKey("stations.id"), primary_key=True),
    Column("staff_id", String(64), primary_key=True),
    Column("assigned_by", String(64), nullable=False),
    Column("assigned_at", DateTime(timezone=True), nullable=False),
)

_live = "revoked_at IS NULL"

# Who may register stations: an admin grants a coordinator (staff id) a branch, which covers the
# branch and the branches below it. Revoking stops future registrations; stations already registered
# keep their coordinators. Revoked grants stay as the record of who granted and revoked what.
registration_grants = Table(
    "registration_grants",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("staff_id", String(64), nullable=False, index=True),
    Column("branch_id", String(64), nullable=False),
    Column("branch_path", JSON, nullable=False),  # the granted branch's; scopes the admins who see it
    Column("granted_by", String(64), nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    Column("revoked_by", String(64), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    # One live grant per coordinator and branch, even when an admin grants twice at once.
    Index(
        "uq_registration_grants_live",
        "staff_id",
        "branch_id",
        unique=True,
        postgresql_where=text(_live),
        sqlite_where=text(_live),
    ),
)

# Where each branch sits, as enrolment listed it when an admin granted a branch above it: a
# coordinator's token cannot ask enrolment, so a coordinator's registration reads the path here.
branches = Table(
    "branches",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("path", JSON, nullable=False),
    Column("learned_at", DateTime(timezone=True), nullable=False),
)

duty_groups = Table(
    "duty_groups",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("station_id", String(36), ForeignKey("stations.id"), nullable=False, index=True),
    Column("name", String(60), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

duty_group_members = Table(
    "duty_group_members",
    metadata,
    Column("group_id", String(36), ForeignKey("duty_groups.id"), primary_key=True),
    Column("member_id", String(64), primary_key=True, index=True),
    Column("added_at", DateTime(timezone=True), nullable=False),
)

# The rota: an open and a close duty per station and day, each for the week's group.
duties = Table(
    "duties",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("station_id", String(36), ForeignKey("stations.id"), nullable=False),
    Column("group_id", String(36), ForeignKey("duty_groups.id"), nullable=False, index=True),
    Column("week", String(8), nullable=False),  # ISO week, e.g. 2026-W42
    Column("day", Date, nullable=False),
    Column("kind", String(5), nullable=False),  # open, close
    Column("at", DateTime(timezone=True), nullable=False),
    Column("member_id", String(64), nullable=True, index=True),  # set by an accepted swap
    Column("status", String(10), nullable=False),  # scheduled, done, missed
    Column("flagged", String(20), nullable=True),  # why it needs reassigning, e.g. member_left
    Column("shift_id", String(36), nullable=True),
    UniqueConstraint("station_id", "day", "kind"),
    Index("ix_duties_due", "status", "at"),
)

swaps = Table(
    "swaps",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("duty_id", String(36), ForeignKey("duties.id"), nullable=False, index=True),
    Column("station_id", String(36), ForeignKey("stations.id"), nullable=False, index=True),
    Column("from_member_id", String(64), nullable=False),
    Column("to_member_id", String(64), nullable=False),
    Column("status", String(10), nullable=False),  # requested, accepted, cancelled
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
)

_open = "status = 'open'"

shifts = Table(
    "shifts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("station_id", String(36), ForeignKey("stations.id"), nullable=False, index=True),
    Column("member_id", String(64), nullable=False),
    Column("group_id", String(36), nullable=True),
    Column("status", String(10), nullable=False),  # open, completed, stopped (shifts.cut_short)
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("minutes", Integer, nullable=True),  # on duty, its stints' sum
    # The day whose opening the shift takes part in (shifts.duty_day); empty on an older shift of a
    # day that had two before it was kept (migration 93e2ac8c854c).
    Column("duty_day", Date, nullable=True),
    # One open shift per volunteer: a second check-in, even a concurrent one, is a conflict.
    Index(
        "uq_shifts_open_member",
        "member_id",
        unique=True,
        postgresql_where=text(_open),
        sqlite_where=text(_open),
    ),
    # One shift per volunteer, station and day: checking in again resumes it (shifts.check_in).
    Index("uq_shifts_member_station_day", "member_id", "station_id", "duty_day", unique=True),
)

# A shift's times on duty, from each check-in to its check-out: a volunteer who steps out for lunch
# resumes the day's shift, and the station's open hours leave the hour out.
shift_stints = Table(
    "shift_stints",
    metadata,
    Column("shift_id", String(36), ForeignKey("shifts.id"), primary_key=True),
    Column("started_at", DateTime(timezone=True), primary_key=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
)

duty_log = Table(
    "duty_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("shift_id", String(36), ForeignKey("shifts.id"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),  # lights, ac, cleaning, note
    Column("value", String(10), nullable=True),  # on / off for lights and ac
    Column("note", String(500), nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

issues = Table(
    "issues",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("station_id", String(36), ForeignKey("stations.id"), nullable=False, index=True),
    Column("member_id", String(64), nullable=False),
    Column("category", String(20), nullable=False),
    Column("note", String(500), nullable=True),
    Column("status", String(10), nullable=False),  # open, resolved
    Column("reported_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("resolved_by", String(64), nullable=True),
    Column("resolution", String(500), nullable=True),
)

_occupied = "collected_at IS NULL"

deposits = Table(
    "deposits",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("station_id", String(36), ForeignKey("stations.id"), nullable=False),
    Column("locker_no", Integer, nullable=False),
    Column("member_id", String(64), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False),  # keyed hash of the pickup code
    Column("deposited_at", DateTime(timezone=True), nullable=False),
    Column("collected_at", DateTime(timezone=True), nullable=True),
    Column("collected_by", String(64), nullable=True),
    Column("flagged_at", DateTime(timezone=True), nullable=True),  # still there when the station closed
    # One item per locker at a time, even when two couriers pick the same locker at once.
    Index(
        "uq_deposits_occupied",
        "station_id",
        "locker_no",
        unique=True,
        postgresql_where=text(_occupied),
        sqlite_where=text(_occupied),
    ),
)

# A courier's visit, counted once a day (scanning the station's poster).
visits = Table(
    "visits",
    metadata,
    Column("station_id", String(36), ForeignKey("stations.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("member_id", String(64), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

members = add_members_table(metadata)
idempotency_keys = add_idempotency_table(metadata)
outbox, inbox = add_bus_tables(metadata)
