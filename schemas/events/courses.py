"""courses topic, keyed by member_id."""

from marshmallow import fields

from .base import MemberEvent


class BookingEvent(MemberEvent):
    booking_id = fields.String(required=True)
    course_id = fields.String(required=True)
    term_id = fields.String(required=True)


class BookingBookedV1(BookingEvent):
    pass


class BookingWaitlistedV1(BookingEvent):
    position = fields.Integer(required=True)


class BookingPromotedV1(BookingEvent):
    pass


class BookingCancelledV1(BookingEvent):
    reason = fields.String(required=True)


class BookingCheckedInV1(BookingEvent):
    pass


class BookingNoShowV1(BookingEvent):
    pass


# The event types of this topic, spelled here once; the catalogue, the services and the tests import them.
BOOKED = "unionhub.booking.booked.v1"
WAITLISTED = "unionhub.booking.waitlisted.v1"
PROMOTED = "unionhub.booking.promoted.v1"
CANCELLED = "unionhub.booking.cancelled.v1"
CHECKED_IN = "unionhub.booking.checked_in.v1"
NO_SHOW = "unionhub.booking.no_show.v1"

SCHEMAS = {
    BOOKED: BookingBookedV1,
    WAITLISTED: BookingWaitlistedV1,
    PROMOTED: BookingPromotedV1,
    CANCELLED: BookingCancelledV1,
    CHECKED_IN: BookingCheckedInV1,
    NO_SHOW: BookingNoShowV1,
}
