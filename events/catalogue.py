"""The topic catalogue: which topics exist, which event types each carries, and each type's schema.

Topics are created from this list (``unionhub topics``); auto-creation is off on the broker, so a
type that is not catalogued cannot be published by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import Schema

from schemas.events import benefits, courses, members, stations

PREFIX = "unionhub."


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    key: str  # what the record key (the event subject) is
    types: dict[str, type[Schema]] = field(default_factory=dict)

    @property
    def dlq(self) -> str:
        return dlq_name(self.name)


def dlq_name(topic: str) -> str:
    return f"{topic}.dlq"


class UnknownEventType(LookupError):
    pass


class Catalogue:
    def __init__(self, topics: list[Topic]):
        self.topics = {t.name: t for t in topics}
        self._by_type = {etype: t for t in topics for etype in t.types}
        # One instance per type: marshmallow schemas are reusable, and building one per event cost
        # the consumer about a tenth of its time.
        self._schemas = {etype: schema() for t in topics for etype, schema in t.types.items()}

    def topic_for(self, event_type: str) -> Topic:
        try:
            return self._by_type[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def schema_for(self, event_type: str) -> Schema:
        try:
            return self._schemas[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def types(self) -> list[str]:
        return sorted(self._by_type)


def _types(domain: str, pairs: dict[str, type[Schema]]) -> dict[str, type[Schema]]:
    return {f"{PREFIX}{domain}.{name}": schema for name, schema in pairs.items()}


CATALOGUE = Catalogue(
    [
        Topic(
            "members",
            partitions=6,
            key="member_id",
            types=_types(
                "member",
                {
                    "joined.v1": members.MemberJoinedV1,
                    "approved.v1": members.MemberApprovedV1,
                    "rejected.v1": members.MemberRejectedV1,
                    "updated.v1": members.MemberUpdatedV1,
                    "transferred.v1": members.MemberTransferredV1,
                    "suspended.v1": members.MemberSuspendedV1,
                    "reinstated.v1": members.MemberReinstatedV1,
                    "left.v1": members.MemberLeftV1,
                },
            ),
        ),
        Topic(
            "courses",
            partitions=6,
            key="member_id",
            types=_types(
                "booking",
                {
                    "booked.v1": courses.BookingBookedV1,
                    "waitlisted.v1": courses.BookingWaitlistedV1,
                    "promoted.v1": courses.BookingPromotedV1,
                    "cancelled.v1": courses.BookingCancelledV1,
                    "checked_in.v1": courses.BookingCheckedInV1,
                    "no_show.v1": courses.BookingNoShowV1,
                },
            ),
        ),
        Topic(
            "benefits",
            partitions=6,
            key="member_id",
            types={
                **_types(
                    "redemption",
                    {
                        "redeemed.v1": benefits.RedemptionRedeemedV1,
                        "reversed.v1": benefits.RedemptionReversedV1,
                    },
                ),
                **_types("voucher", {"granted.v1": benefits.VoucherGrantedV1}),
                **_types("budget", {"exhausted.v1": benefits.BudgetExhaustedV1}),
            },
        ),
        Topic(
            "stations",
            partitions=3,
            key="station_id",
            types={
                **_types(
                    "station", {"opened.v1": stations.StationOpenedV1, "closed.v1": stations.StationClosedV1}
                ),
                **_types(
                    "shift",
                    {
                        "started.v1": stations.ShiftStartedV1,
                        "completed.v1": stations.ShiftCompletedV1,
                        "missed.v1": stations.ShiftMissedV1,
                    },
                ),
                **_types(
                    "locker",
                    {"deposited.v1": stations.LockerDepositedV1, "collected.v1": stations.LockerCollectedV1},
                ),
                **_types("issue", {"reported.v1": stations.IssueReportedV1}),
            },
        ),
    ]
)
