"""Joining: the page a scanned poster opens, the SMS code, and the real-name join itself."""

from urllib.parse import quote

from flask import redirect, request
from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.auth import MEMBER, principal, require
from services.common.domain import Unavailable
from services.common.errors import Problem, problem
from services.common.idempotency import HEADER, HEADER_DOC, IdempotentRequest
from services.common.views import client_ip, context, unit_of_work

from .. import identity, joining, repository, service, tables
from .. import schemas as s
from .context import enrolment, funnel

blp = Blueprint("join", __name__, url_prefix="/api/v1", description="Joining the union by scanning a poster")

# Where a phone browser that scanned the poster is sent: the H5 join page (services/web), which
# asks this same URL for the JSON below. The mini-app and other clients send application/json or */*.
H5_JOIN_PAGE = "/app/join/{code}"

# An instance, not the class: given a class, webargs builds the schema (deep-copying its fields) on
# every request (docs/benchmarks.md, "Course booking burst").
JOIN_IN = s.JoinIn()
RETRY_AFTER_SECONDS = 30  # the identity provider, the SMS gateway or Redis did not answer


@blp.errorhandler(Unavailable)
def _retry_later(error: Unavailable):
    # The kit maps Unavailable to 503 without Retry-After; a joining worker's app needs to know
    # when to offer "try again".
    return problem(503, error.code, params=error.params, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _wants_html() -> bool:
    # JSON wins ties (*/*, no Accept at all), so only a browser's text/html navigation is redirected.
    accept = request.accept_mimetypes
    return accept.best_match(("application/json", "text/html")) == "text/html" and accept["text/html"] > 0


def _openid() -> str:
    subject = principal().subject
    if not subject.startswith("wx:"):
        raise Problem(403, "join.wechat_login_required")
    return subject[3:]


def _rules() -> joining.JoinRules:
    e = enrolment()
    settings = e.settings
    provider = identity.Provider(
        verify_url=settings.identity_verify_url,
        sms_url=settings.sms_send_url,
        appid=settings.identity_appid,
        secret=settings.identity_secret,
        timeout=settings.identity_timeout,
    )
    return joining.JoinRules(
        pii_keys=e.pii_keys,
        province=settings.card_province,
        consent_version=settings.consent_version,
        limit_per_hour=settings.join_limit_per_hour,
        verification=joining.Verification(
            provider,
            code_ttl=settings.sms_code_ttl,
            code_attempts=settings.sms_code_attempts,
            sms_limit_per_hour=settings.sms_limit_per_hour,
        ),
    )


@blp.route("/join/<code>")
class JoinPage(MethodView):
    @blp.response(200, s.JoinPageOut)
    @blp.alt_response(303, description="A browser asking for HTML is sent to the H5 join page")
    def get(self, code):
        """What a worker sees after scanning a poster (counts a scan); 410 when revoked or expired"""
        if _wants_html():
            # Not counted here: the page's own request for the JSON counts the scan, once.
            response = redirect(H5_JOIN_PAGE.format(code=quote(code, safe="")), 303)
            response.headers["Vary"] = "Accept"
            response.headers["Cache-Control"] = "no-store"
            return response
        campaign, unit = service.scan(unit_of_work(), funnel(), code, scanner=client_ip())
        return {
            "campaign": campaign.name,
            "site": campaign.site,
            "branch": unit.name,
            "requires_approval": unit.requires_approval,
            "consent_version": enrolment().settings.consent_version,
        }, {"Vary": "Accept"}


@blp.route("/join/sms-code")
class JoinSmsCode(MethodView):
    @require(MEMBER)
    @blp.arguments(s.SmsCodeIn)
    @blp.response(202, s.SmsCodeOut)
    def post(self, body):
        """Text a join code to the mobile the worker will join with (rate-limited)"""
        openid = _openid()
        return {"expires_in": joining.send_join_code(context().redis, openid=openid, rules=_rules(), **body)}


@blp.route("/join")
class Join(MethodView):
    @require(MEMBER)
    @blp.arguments(JOIN_IN)
    @blp.response(201, s.JoinOut)
    @blp.doc(parameters=[HEADER_DOC])
    def post(self, body):
        """Join the union through a campaign: the SMS code, then name and ID number checked together"""
        openid = _openid()
        once = IdempotentRequest.of(
            tables.idempotency_keys,
            repository.join_scope(openid),
            request.headers.get(HEADER),
            body,
            secret=enrolment().secrets.idempotency_key,
        )
        result = joining.join(
            unit_of_work(),
            context().redis,
            joining.JoinForm(**body),
            openid=openid,
            rules=_rules(),
            request=once,
        )
        # A member token from now on: the mini-app needs no second login to show the card.
        token, ttl = enrolment().issuer.issue(f"wx:{openid}", [MEMBER], member_id=result["member_id"])
        return {**result, "access_token": token, "expires_in": ttl}
