"""HTTP request and response schemas of courses; the OpenAPI document is generated from them."""

from marshmallow import Schema, fields, validate

from schemas.fields import Day, FullMatch, Moment
from schemas.http import IdOut as IdOut  # re-exported: the views answer creations with s.IdOut
from schemas.http import Strict

_name = validate.Length(min=1, max=120)
_id = validate.Length(min=1, max=64)
CATEGORIES = (
    "fitness",
    "ball_games",
    "swimming",
    "yoga",
    "dance",
    "calligraphy",
    "tea_art",
    "baking",
    "photography",
    "self_defence",
    "kids",
    "culture",
    "skills",
    "other",
)


class VenueIn(Strict):
    name = fields.String(required=True, validate=_name)
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    branch_id = fields.String(required=True, validate=_id)


class StaffIn(Strict):
    staff_id = fields.String(required=True, validate=_id)


class AssignedOut(Schema):
    staff_id = fields.String()
    added = fields.Boolean()


class TermIn(Strict):
    name = fields.String(required=True, validate=_name)
    branch_id = fields.String(required=True, validate=_id)
    booking_opens_at = Moment(required=True)
    booking_closes_at = Moment(required=True)
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    no_show_limit = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=50))


class TermOut(Schema):
    id = fields.String()
    name = fields.String()
    branch_id = fields.String()
    booking_opens_at = fields.DateTime()
    booking_closes_at = fields.DateTime()
    starts_on = fields.Date()
    ends_on = fields.Date()


class ScheduleIn(Strict):
    weekdays = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=7)),
        required=True,
        validate=validate.Length(min=1, max=7),
    )
    start = fields.String(
        required=True, validate=FullMatch(r"^([01][0-9]|2[0-3]):[0-5][0-9]$", error="course.start_time")
    )
    minutes = fields.Integer(required=True, validate=validate.Range(min=15, max=480))


class CourseIn(Strict):
    term_id = fields.String(required=True, validate=_id)
    title = fields.String(required=True, validate=_name)
    category = fields.String(load_default="other", validate=validate.OneOf(CATEGORIES))
    teacher = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    venue_id = fields.String(load_default=None, allow_none=True, validate=_id)
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    capacity = fields.Integer(required=True, validate=validate.Range(min=1, max=10000))
    schedule = fields.Nested(ScheduleIn, required=True)
    cancel_hours = fields.Integer(load_default=24, validate=validate.Range(min=0, max=720))
    seats_per_member = fields.Integer(load_default=1, validate=validate.Range(min=1, max=5))
    min_age = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=120))
    max_age = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=120))
    women_only = fields.Boolean(load_default=False)
    branch_ids = fields.List(
        fields.String(validate=_id),
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=50),
    )


class CourseCreatedOut(Schema):
    id = fields.String()
    sessions = fields.Integer()


class CourseQuery(Strict):
    term_id = fields.String(load_default=None, validate=_id)
    status = fields.String(
        load_default="published",
        validate=validate.OneOf(("published", "draft")),
        metadata={
            "description": "published (anyone signed in); draft: admins only, the drafts of the terms "
            "in their subtree (of term_id, or of every such term)"
        },
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100000))


class SessionOut(Schema):
    id = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()


class CourseOut(Schema):
    id = fields.String()
    term_id = fields.String()
    title = fields.String()
    category = fields.String()
    teacher = fields.String(allow_none=True)
    venue = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    status = fields.String()
    capacity = fields.Integer()
    seats_left = fields.Integer()
    schedule = fields.Dict()
    first_session = fields.DateTime(allow_none=True)
    cancel_hours = fields.Integer()
    min_age = fields.Integer(allow_none=True)
    max_age = fields.Integer(allow_none=True)
    women_only = fields.Boolean()


class CourseDetailOut(CourseOut):
    seats_per_member = fields.Integer()
    branch_ids = fields.List(fields.String(), allow_none=True)  # the course's admins only
    sessions = fields.List(fields.Nested(SessionOut))


class ChildIn(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    birth_date = fields.Date(required=True)


class ChildOut(Schema):
    id = fields.String()
    name = fields.String()
    birth_date = fields.Date()


class BookingIn(Strict):
    child_id = fields.String(load_default=None, allow_none=True, validate=_id)


class BookedOut(Schema):
    id = fields.String(required=True)
    status = fields.String(required=True)  # confirmed or waitlisted
    position = fields.Integer()  # on the waitlist: 1 is next
    ticket_code = fields.String()  # a confirmed seat's signed ticket, for its QR


class MyBookingOut(Schema):
    id = fields.String()
    course_id = fields.String()
    course = fields.String()
    term_id = fields.String()
    status = fields.String()
    position = fields.Integer()
    child_id = fields.String(allow_none=True)
    booked_at = fields.DateTime()
    cancel_reason = fields.String(allow_none=True)
    ticket_code = fields.String()


class CancelledOut(Schema):
    id = fields.String()
    status = fields.String()


class CheckinIn(Strict):
    ticket_code = fields.String(required=True, validate=validate.Length(min=1, max=200))
    session_id = fields.String(load_default=None, allow_none=True, validate=_id)


class CheckinOut(Schema):
    booking_id = fields.String()
    session_id = fields.String()
    course = fields.String()
    person = fields.String()  # member or child
    checked_in_at = fields.DateTime()


class RosterOut(Schema):
    booking_id = fields.String()
    status = fields.String()
    waitlist_no = fields.Integer(allow_none=True)
    card_no = fields.String(allow_none=True)
    child = fields.String(allow_none=True)
    attended = fields.Integer()
    no_shows = fields.Integer()


class AttendanceOut(Schema):
    session_id = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    checked_in = fields.Integer()
    no_shows = fields.Integer(allow_none=True)


class VenueOut(Schema):
    id = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
