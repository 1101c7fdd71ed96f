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
