"""Joining: the page a scanned poster opens, and the real-name join itself."""

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import MEMBER, principal, require
from services.common.errors import Problem
from services.common.idempotency import HEADER, HEADER_DOC, IdempotentRequest
from services.common.views import context, unit_of_work

from .. import schemas as s
from .. import service, tables
from .context import enrolment, funnel

blp = Blueprint("join", __name__, url_prefix="/api/v1", description="Joining the union by scanning a poster")


@blp.route("/join/<code>")
class JoinPage(MethodView):
    @blp.response(200, s.JoinPageOut)
    def get(self, code):
        """What a worker sees after scanning a poster (counts a scan); 410 when revoked or expired"""
        campaign, unit = service.scan(unit_of_work(), funnel(), code)
        return {
            "campaign": campaign.name,
            "site": campaign.site,
            "branch": unit.name,
            "requires_approval": unit.requires_approval,
            "consent_version": enrolment().settings.consent_version,
        }


@blp.route("/join")
class Join(MethodView):
    @require(MEMBER)
    @blp.arguments(s.JoinIn)
    @blp.response(201, s.JoinOut)
    @blp.doc(parameters=[HEADER_DOC])
    def post(self, body):
        """Join the union through a campaign, with real-name details and consent"""
        subject = principal().subject
        if not subject.startswith("wx:"):
            raise Problem(403, "join.wechat_login_required")
        openid = subject[3:]
        e = enrolment()
        rules = service.JoinRules(
            pii_keys=e.pii_keys,
            province=e.settings.card_province,
            consent_version=e.settings.consent_version,
            limit_per_hour=e.settings.join_limit_per_hour,
        )
        once = IdempotentRequest.of(
            tables.idempotency_keys, f"join:{openid}", request.headers.get(HEADER), body
        )
        result = service.join(
            unit_of_work(),
            context().redis,
            service.JoinForm(**body),
            openid=openid,
            rules=rules,
            request=once,
        )
        # A member token from now on: the mini-app needs no second login to show the card.
        token, ttl = e.issuer.issue(subject, [MEMBER], member_id=result["member_id"])
        return {**result, "access_token": token, "expires_in": ttl}
