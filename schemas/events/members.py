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
