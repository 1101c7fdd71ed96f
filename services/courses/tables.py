"""Courses' tables: venues and who staffs them, terms, courses with their sessions, members'
children, bookings with their waitlist places, check-ins and no-shows; and the projection of members."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    text,
)

from events.store import add_bus_tables
from services.common.audit import add_audit_table
from services.common.idempotency import add_idempotency_table
from services.common.members import add_members_table

metadata = MetaData()
members = add_members_table(metadata)

venues = Table(
    "venues",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("address", String(200), nullable=True),
    Column("branch_id", String(64), nullable=False),
    Column("branch_path", JSON, nullable=False),  # ancestry of the branch, for admins' subtrees
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Who checks people in: staff assigned to a venue (every course there) or to one course. These rows,
# not a claim in the staff member's token, are what check-in consults.
venue_staff = Table(
    "venue_staff",
    metadata,
    Column("venue_id", String(36), ForeignKey("venues.id"), nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("venue_id", "staff_id"),
)

terms = Table(
    "terms",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("branch_id", String(64), nullable=False),
    Column("branch_path", JSON, nullable=False),
    Column("booking_opens_at", DateTime(timezone=True), nullable=False),
    Column("booking_closes_at", DateTime(timezone=True), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("no_show_limit", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

courses = Table(
    "courses",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("term_id", String(36), ForeignKey("terms.id"), nullable=False, index=True),
    Column("title", String(120), nullable=False),
    Column("category", String(40), nullable=False),
    Column("teacher", String(80), nullable=True),
    Column("venue_id", String(36), ForeignKey("venues.id"), nullable=True),
    Column("description", String(1000), nullable=True),
    Column("status", String(16), nullable=False),  # draft, published
    Column("capacity", Integer, nullable=False),
    # Seats taken and the last waitlist number handed out. Both change only by conditional UPDATEs of
    # this one row, whose lock orders concurrent bookings: never over capacity, waitlist in arrival
    # order. A booking takes the lock with its last statements, so it is held for few round trips.
    Column("confirmed", Integer, nullable=False, server_default=text("0")),
    Column("waitlist_seq", Integer, nullable=False, server_default=text("0")),
    # Waitlist numbers handed out that no longer wait (promoted or gone): a new number's place in
    # line is waitlist_seq - waitlist_left, read from the same UPDATE, with no count under the lock.
    Column("waitlist_left", Integer, nullable=False, server_default=text("0")),
    Column("seats_per_member", Integer, nullable=False),  # the member and their children, per term
    Column("cancel_hours", Integer, nullable=False),  # cancelling closes this long before it starts
    Column("schedule", JSON, nullable=False),  # {"weekdays": [1..7], "start": "HH:MM", "minutes": n}
    Column("min_age", Integer, nullable=True),
    Column("max_age", Integer, nullable=True),
    Column("women_only", Boolean, nullable=False),
    Column("branch_ids", JSON, nullable=True),  # only members of these branches (or under them)
    Column("branch_path", JSON, nullable=False),  # the term's, for admins' subtrees
    Column("created_at", DateTime(timezone=True), nullable=False),
)

course_staff = Table(
    "course_staff",
    metadata,
    Column("course_id", String(36), ForeignKey("courses.id"), nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("course_id", "staff_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("course_id", String(36), ForeignKey("courses.id"), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("no_shows_marked_at", DateTime(timezone=True), nullable=True),
    Index("ix_sessions_course_starts", "course_id", "starts_at"),
    Index("ix_sessions_ends_unmarked", "ends_at", "no_shows_marked_at"),
)

# Personal data (a child's name and birth date): deleted when the parent member is erased.
children = Table(
    "children",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("name", String(40), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

HOLDING = ("confirmed", "waitlisted")  # the states in which a booking holds a seat or a place

bookings = Table(
    "bookings",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("course_id", String(36), ForeignKey("courses.id"), nullable=False),
    Column("term_id", String(36), nullable=False),
    Column("member_id", String(64), nullable=False, index=True),
    Column("child_id", String(36), nullable=True),  # no foreign key: erasure deletes the child
    Column("person", String(80), nullable=False),  # "member:<id>" or "child:<id>": who takes the seat
    Column("status", String(16), nullable=False),  # confirmed, waitlisted, cancelled
    Column("position", Integer, nullable=True),  # waitlist number, in arrival order
    Column("cancel_reason", String(40), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # For a confirmed booking, when it became confirmed (the no-shows of the sessions since count).
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # One person never holds two bookings for one course, however many requests race.
    Index(
        "ux_bookings_course_person_holding",
        "course_id",
        "person",
        unique=True,
        sqlite_where=text("status IN ('confirmed', 'waitlisted')"),
        postgresql_where=text("status IN ('confirmed', 'waitlisted')"),
    ),
    Index("ix_bookings_course_status_position", "course_id", "status", "position"),
)

checkins = Table(
    "checkins",
    metadata,
    Column("booking_id", String(36), ForeignKey("bookings.id"), nullable=False),
    Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("checked_in_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("booking_id", "session_id"),  # a ticket works once per session
)

no_shows = Table(
    "no_shows",
    metadata,
    Column("booking_id", String(36), ForeignKey("bookings.id"), nullable=False),
    Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False),
    Column("member_id", String(64), nullable=False),
    Column("term_id", String(36), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("booking_id", "session_id"),
    Index("ix_no_shows_member_term", "member_id", "term_id"),
)

# Every roster taken away (the CSV export) leaves a row here, as enrolment's member export does.
audit_log = add_audit_table(metadata, subject="course_id")
idempotency_keys = add_idempotency_table(metadata)
add_bus_tables(metadata)
