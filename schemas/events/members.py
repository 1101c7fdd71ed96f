"""members topic, keyed by member_id. Payloads never carry a resident ID number or a mobile."""

from marshmallow import fields, validate

from .base import MemberEvent


class MemberJoinedV1(MemberEvent):
    branch_id = fields.String(required=True)
    # Ancestors from the federation down to the branch, so other services can scope an admin's
    # subtree without asking enrolment.
    branch_path = fields.List(fields.String(), required=True)
    card_no = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["active", "pending"]))
    campaign_id = fields.String(allow_none=True, load_default=None)
    employer = fields.String(required=True)
    occupation = fields.String(required=True)


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
JOINED = "unionhub.member.joined.v1"
APPROVED = "unionhub.member.approved.v1"
REJECTED = "unionhub.member.rejected.v1"
UPDATED = "unionhub.member.updated.v1"
TRANSFERRED = "unionhub.member.transferred.v1"
SUSPENDED = "unionhub.member.suspended.v1"
REINSTATED = "unionhub.member.reinstated.v1"
LEFT = "unionhub.member.left.v1"

SCHEMAS = {
    JOINED: MemberJoinedV1,
    APPROVED: MemberApprovedV1,
    REJECTED: MemberRejectedV1,
    UPDATED: MemberUpdatedV1,
    TRANSFERRED: MemberTransferredV1,
    SUSPENDED: MemberSuspendedV1,
    REINSTATED: MemberReinstatedV1,
    LEFT: MemberLeftV1,
}
