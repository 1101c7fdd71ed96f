"""HTTP request and response schemas of enrolment; the OpenAPI document is generated from them."""

from marshmallow import Schema, fields, validate

from schemas.fields import CNMobile, FullMatch, Moment, ResidentIdNumber
from schemas.http import AuditEntryOut, Strict
from schemas.http import IdOut as IdOut  # re-exported: the views answer creations with s.IdOut

from .accounts import STAFF_ROLES
from .model import OUTCOMES, UNIT_KINDS

_name = validate.Length(min=1, max=60)


class StaffLoginIn(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class TokenOut(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(dump_default="Bearer")
    expires_in = fields.Integer()


class WeChatLoginIn(Strict):
    code = fields.String(required=True, validate=validate.Length(min=1, max=128))


class WeChatTokenOut(TokenOut):
    member_id = fields.String(allow_none=True)


class UnitIn(Strict):
    name = fields.String(required=True, validate=_name)
    parent_id = fields.String(load_default=None, allow_none=True)
    kind = fields.String(load_default="branch", validate=validate.OneOf(UNIT_KINDS[1:]))
    requires_approval = fields.Boolean(load_default=False)


class UnitOut(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    parent_id = fields.String(allow_none=True)
    requires_approval = fields.Boolean()
    # Ancestors from the federation down to this unit; other services scope admins with it.
    path = fields.List(fields.String())


class CampaignIn(Strict):
    branch_id = fields.String(required=True)
    name = fields.String(required=True, validate=_name)
    site = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120))
    expires_at = Moment(load_default=None, allow_none=True)


class CampaignOut(Schema):
    id = fields.String()
    branch_id = fields.String(attribute="unit_id")
    name = fields.String()
    site = fields.String(allow_none=True)
    code = fields.String()
    status = fields.String()
    expires_at = fields.DateTime(allow_none=True)
    join_url = fields.String()


class JoinPageOut(Schema):
    campaign = fields.String()
    site = fields.String(allow_none=True)
    branch = fields.String()
    requires_approval = fields.Boolean()
    consent_version = fields.String()


class DayStats(Schema):
    day = fields.Date()
    scans = fields.Integer()  # every page view of the poster's link, within a per-source bound
    unique_scans = fields.Integer()  # distinct scanners that day (HyperLogLog, ~1 % error)
    joins_started = fields.Integer()
    joins = fields.Integer()
    conversion = fields.Float()


class StatsOut(Schema):
    scans = fields.Integer()
    unique_scans = fields.Integer()  # the days' unique scanners, summed
    joins_started = fields.Integer()
    joins = fields.Integer()
    conversion = fields.Float()
    by_day = fields.List(fields.Nested(DayStats))


class JoinIn(Strict):
    campaign_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    name = fields.String(required=True, validate=validate.Length(min=2, max=30))
    mobile = CNMobile(required=True)
    # The code texted to that mobile (POST /join/sms-code), for this WeChat user.
    sms_code = fields.String(required=True, validate=FullMatch(r"^[0-9]{6}$", error="sms.code_invalid"))
    id_number = ResidentIdNumber(required=True)
    employer = fields.String(required=True, validate=_name)
    occupation = fields.String(required=True, validate=_name)
    # Consent to the privacy notice must be given explicitly (PIPL); false is refused like absent.
    consent = fields.Boolean(required=True, validate=validate.Equal(True, error="consent.required"))


class SmsCodeIn(Strict):
    mobile = CNMobile(required=True)


class SmsCodeOut(Schema):
    expires_in = fields.Integer()


class JoinOut(Schema):
    member_id = fields.String()
    card_no = fields.String()
    status = fields.String()
    access_token = fields.String()
    expires_in = fields.Integer()


class MemberOut(Schema):
    """A member as anyone but the member's audited admin sees them: mobile and ID masked."""

    id = fields.String()
    branch_id = fields.String()
    branch = fields.String()
    card_no = fields.String()
    status = fields.String()
    name = fields.String(allow_none=True)
    mobile = fields.String(allow_none=True)
    id_number = fields.String(allow_none=True)
    sex = fields.String(allow_none=True)
    birth_year = fields.Integer(allow_none=True)
    employer = fields.String()
    occupation = fields.String()
    joined_at = fields.DateTime()


class MemberListArgs(Strict):
    branch_id = fields.String(load_default=None)
    status = fields.String(
        load_default=None, validate=validate.OneOf(["pending", "active", "suspended", "left", "rejected"])
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class MemberPageOut(Schema):
    items = fields.List(fields.Nested(MemberOut))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class PersonalDataOut(Schema):
    member_id = fields.String()
    name = fields.String()
    mobile = fields.String()
    id_number = fields.String()


class ReasonIn(Strict):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class TransferIn(Strict):
    branch_id = fields.String(required=True)


class StatusOut(Schema):
    id = fields.String()
    status = fields.String()
    branch_id = fields.String(attribute="unit_id")


class CardTokenOut(Schema):
    token = fields.String()
    expires_in = fields.Integer()


class CardRedeemIn(Strict):
    token = fields.String(required=True, validate=validate.Length(min=1, max=400))


class CardRedeemOut(Schema):
    member_id = fields.String()
    card_no = fields.String()
    status = fields.String()
    branch_id = fields.String()


class StaffIn(Strict):
    username = fields.String(required=True, validate=FullMatch(r"^[A-Za-z0-9_.@-]{3,64}$"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=10, max=200))
    roles = fields.List(
        fields.String(validate=validate.OneOf(STAFF_ROLES)), required=True, validate=validate.Length(min=1)
    )
    unit_id = fields.String(load_default=None, allow_none=True)
    merchant_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=36))
    store_ids = fields.List(fields.String(), load_default=list)
    station_ids = fields.List(fields.String(), load_default=list)


class AuditQuery(Strict):
    member_id = fields.String(load_default=None)


class StaffQuery(Strict):
    role = fields.String(load_default=None, validate=validate.OneOf(STAFF_ROLES))


class StaffOut(Schema):
    id = fields.String()
    username = fields.String()
    roles = fields.List(fields.String())
    unit_id = fields.String(allow_none=True)
    disabled = fields.Boolean()


class AuditOut(AuditEntryOut):
    member_id = fields.String(allow_none=True)


class DisputeListArgs(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(["open", "kept", "moved", "withdrawn"]))


class DisputeOut(Schema):
    """A claim on a membership; the claimant's name and mobile masked, gone once it is resolved."""

    id = fields.String()
    member_id = fields.String()
    card_no = fields.String()
    branch_id = fields.String()
    branch = fields.String()
    status = fields.String()
    claimant_name = fields.String(allow_none=True)
    claimant_mobile = fields.String(allow_none=True, attribute="claimant_mobile_masked")
    claimant_employer = fields.String(allow_none=True)
    claimant_occupation = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)


class DisputeResolveIn(Strict):
    outcome = fields.String(required=True, validate=validate.OneOf(list(OUTCOMES)))


class DisputeResolvedOut(Schema):
    id = fields.String()
    member_id = fields.String()
    status = fields.String()
