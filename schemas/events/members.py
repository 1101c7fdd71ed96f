"""members topic, keyed by member_id. Payloads never carry a resident ID number or a mobile."""

from marshmallow import fields, validate

from .base import MemberEvent


class MemberJoinedV1(MemberEvent):
    """No longer produced (joined.v2 replaced it); kept so records still on the topic load."""

    branch_id = fields.String(required=True)
    # Ancestors from the federation down to the branch, so other services can scope an admin's
    # subtree without asking enrolment.
    branch_path = fields.List(fields.String(), required=True)
    card_no = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["active", "pending"]))
    campaign_id = fields.String(allow_none=True, load_default=None)
    employer = fields.String(required=True)
    occupation = fields.String(required=True)


class MemberJoinedV2(MemberEvent):
    """v1 without employer, occupation and campaign: no consumer needs them, and a Kafka record
    outlives an erasure for the topic's retention."""

    branch_id = fields.String(required=True)
    branch_path = fields.List(fields.String(), required=True)
    # Kept: merchants' tills verify card codes offline and show the card number, which they learn
    # only from here. It is a number the union issued, not data the person gave.
    card_no = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["active", "pending"]))


class MemberReassignedV1(MemberEvent):
    """An admin resolved an identity dispute: the membership now belongs to the verified claimant.
    Same member id, card and branch; consumers drop what they tied to the previous holder's session
    (e.g. cached logins) and keep the membership's history."""

    branch_id = fields.String(required=True)
    branch_path = fields.List(fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(["active", "pending", "suspended"]))


class MemberApprovedV1(MemberEvent):
    branch_id = fields.String(required=True)


class MemberRejectedV1(MemberEvent):
    branch_id = fields.String(required=True)
    reason = fields.String(allow_none=True, load_default=None)


class MemberUpdatedV1(MemberEvent):
    changed = fields.List(fields.String(), required=True)


class MemberTransferredV1(MemberEvent):
    from_branch_id = fields.String(required=True)
    to_branch_id = fields.String(required=True)
    branch_path = fields.List(fields.String(), required=True)


class MemberSuspendedV1(MemberEvent):
    reason = fields.String(allow_none=True, load_default=None)


class MemberReinstatedV1(MemberEvent):
    pass


class MemberLeftV1(MemberEvent):
    # "left" when the member resigned; "erased" when they asked for their personal data to be deleted.
    reason = fields.String(required=True, validate=validate.OneOf(["left", "erased"]))


# The event types of this topic, spelled here once; the catalogue, the services and the tests import them.
JOINED_V1 = "unionhub.member.joined.v1"
JOINED = "unionhub.member.joined.v2"
REASSIGNED = "unionhub.member.reassigned.v1"
APPROVED = "unionhub.member.approved.v1"
REJECTED = "unionhub.member.rejected.v1"
UPDATED = "unionhub.member.updated.v1"
TRANSFERRED = "unionhub.member.transferred.v1"
SUSPENDED = "unionhub.member.suspended.v1"
REINSTATED = "unionhub.member.reinstated.v1"
LEFT = "unionhub.member.left.v1"

SCHEMAS = {
    JOINED_V1: MemberJoinedV1,
    JOINED: MemberJoinedV2,
    APPROVED: MemberApprovedV1,
    REJECTED: MemberRejectedV1,
    UPDATED: MemberUpdatedV1,
    TRANSFERRED: MemberTransferredV1,
    SUSPENDED: MemberSuspendedV1,
    REINSTATED: MemberReinstatedV1,
    LEFT: MemberLeftV1,
    REASSIGNED: MemberReassignedV1,
}
