"""Enrolment's HTTP API (paths fixed by the mini-app contract). Views are thin: parse, call, answer."""

from __future__ import annotations

import csv
import io
import time
from datetime import date, timedelta

from flask import Response, current_app, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import exc, func, select

from services.common import ratelimit
from services.common.auth import ADMIN, MEMBER, TILL, Principal, principal, require
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Forbidden, Invalid, NotFound
from services.common.errors import Problem
from services.common.idempotency import remember, replay, validate_key
from services.common.observability import current_traceparent

from . import card_token, db, keys, model, qr, repository, service, wechat
from . import schemas as s

auth_blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Logging in")
units_blp = Blueprint(
    "branches", __name__, url_prefix="/api/v1/branches", description="The tree of union units"
)
campaigns_blp = Blueprint("campaigns", __name__, url_prefix="/api/v1", description="QR enrolment campaigns")
members_blp = Blueprint("members", __name__, url_prefix="/api/v1", description="Members and their cards")
staff_blp = Blueprint("staff", __name__, url_prefix="/api/v1/staff", description="Staff accounts")
jwks_blp = Blueprint("jwks", __name__, description="The token issuer's public keys")


def ctx():
    return current_app.extensions["unionhub"]


def enrol():
    return current_app.extensions["enrolment"]


def uow() -> UnitOfWork:
    return ctx().db.unit_of_work()


def admin_scopes(u: UnitOfWork) -> list[str]:
    return service.scope_paths(u, principal().units)


def client_ip() -> str:
    # The gateway (one trusted hop) appends the address it saw to any X-Forwarded-For the client
    # sent; only that last entry is trustworthy. The first one is whatever the client made up.
    return request.headers.get("X-Forwarded-For", request.remote_addr or "").split(",")[-1].strip()


# --- logging in -------------------------------------------------------------------------------


@auth_blp.route("/staff/login")
class StaffLogin(MethodView):
    @auth_blp.arguments(s.StaffLoginIn)
    @auth_blp.response(200, s.TokenOut)
    def post(self, body):
        """Log a staff member in with username and password"""
        limit = enrol().settings.login_limit_per_minute
        ratelimit.hit(ctx().redis, keys.login_attempts("ip", client_ip()), limit=limit * 3, window_seconds=60)
        ratelimit.hit(
            ctx().redis, keys.login_attempts("user", body["username"]), limit=limit, window_seconds=60
        )
        with uow() as u:
            try:
                row = service.authenticate_staff(u, body["username"], body["password"])
            except Forbidden:
                raise Problem(401, "login.failed") from None
        token, ttl = enrol().issuer.issue(
            f"staff:{row.id}",
            row.roles,
            units=[row.unit_id] if row.unit_id else [],
            merchant_id=row.merchant_id,
            store_ids=row.store_ids,
            station_ids=row.station_ids,
        )
        return {"access_token": token, "expires_in": ttl}


@auth_blp.route("/wechat")
class WeChatLogin(MethodView):
    @auth_blp.arguments(s.WeChatLoginIn)
    @auth_blp.response(200, s.WeChatTokenOut)
    def post(self, body):
        """Log a worker in with the code from wx.login"""
        settings = enrol().settings
        ratelimit.hit(
            ctx().redis,
            keys.login_attempts("wechat", client_ip()),
            limit=settings.login_limit_per_minute * 6,
            window_seconds=60,
        )
        openid = wechat.code2session(
            settings.wechat_code2session_url, settings.wechat_appid, settings.wechat_secret, body["code"]
        )
        with uow() as u:
            existing = repository.current_member(u.connection, openid=openid)
        member_id = existing.id if existing else None
        token, ttl = enrol().issuer.issue(f"wx:{openid}", [MEMBER], member_id=member_id)
        return {"access_token": token, "expires_in": ttl, "member_id": member_id}


@jwks_blp.route("/.well-known/jwks.json")
class Jwks(MethodView):
    @jwks_blp.response(200)
    def get(self):
        """The public keys that verify UnionHub access tokens"""
        response = current_app.response_class(
            current_app.json.dumps(enrol().issuer.jwks()), mimetype="application/json"
        )
        response.headers["Cache-Control"] = "public, max-age=300"
        return response


# --- units ------------------------------------------------------------------------------------


def _unit_out(unit: model.Unit) -> dict:
    return {
        "id": unit.id,
        "name": unit.name,
        "kind": unit.kind,
        "parent_id": unit.parent_id,
        "requires_approval": unit.requires_approval,
    }


@units_blp.route("")
class Units(MethodView):
    @require(ADMIN)
    @units_blp.response(200, s.UnitOut(many=True))
    def get(self):
        """Units in the admin's subtree"""
        with uow() as u:
            within = repository.within(admin_scopes(u))
            rows = u.connection.execute(select(db.units).where(within).order_by(db.units.c.path)).all()
        return [_unit_out(repository.unit_from_row(r)) for r in rows]

    @require(ADMIN)
    @units_blp.arguments(s.UnitIn)
    @units_blp.response(201, s.UnitOut)
    def post(self, body):
        """Create a branch (or an intermediate union) under a unit the admin manages"""
        with uow() as u:
            parent_id = body["parent_id"] or principal().units[0]
            unit = service.create_unit(
                u,
                admin_scopes(u),
                name=body["name"],
                parent_id=parent_id,
                kind=body["kind"],
                requires_approval=body["requires_approval"],
            )
            u.commit()
        return _unit_out(unit)


@units_blp.route("/<unit_id>")
class UnitDetail(MethodView):
    @require(ADMIN)
    @units_blp.response(200, s.UnitOut)
    def get(self, unit_id):
        """One unit"""
        with uow() as u:
            return _unit_out(service.unit_in_scope(u, unit_id, admin_scopes(u)))


# --- campaigns --------------------------------------------------------------------------------


def join_url(code: str) -> str:
    return f"{ctx().settings.public_base_url}/api/v1/join/{code}"


def _campaign_out(c: model.Campaign) -> dict:
    return {**c.__dict__, "join_url": join_url(c.code)}


@campaigns_blp.route("/campaigns")
class Campaigns(MethodView):
    @require(ADMIN)
    @campaigns_blp.response(200, s.CampaignOut(many=True))
    def get(self):
        """Campaigns of the branches in the admin's subtree"""
        with uow() as u:
            within = repository.within(admin_scopes(u))
            rows = u.connection.execute(
                select(db.campaigns).join(db.units).where(within).order_by(db.campaigns.c.created_at.desc())
            ).all()
        return [_campaign_out(repository.campaign_from_row(r)) for r in rows]

    @require(ADMIN)
    @campaigns_blp.arguments(s.CampaignIn)
    @campaigns_blp.response(201, s.CampaignOut)
    def post(self, body):
        """Create an enrolment campaign for a branch and a site; its QR poster leads to join_url"""
        with uow() as u:
            campaign = service.create_campaign(u, admin_scopes(u), actor=principal().subject, **body)
            u.commit()
        return _campaign_out(campaign)


@campaigns_blp.route("/campaigns/<campaign_id>")
class CampaignDetail(MethodView):
    @require(ADMIN)
    @campaigns_blp.response(200, s.CampaignOut)
    def get(self, campaign_id):
        """One campaign"""
        with uow() as u:
            return _campaign_out(service.campaign_in_scope(u, campaign_id, admin_scopes(u)))


@campaigns_blp.route("/campaigns/<campaign_id>/revoke")
class CampaignRevoke(MethodView):
    @require(ADMIN)
    @campaigns_blp.response(200, s.CampaignOut)
    def post(self, campaign_id):
        """Revoke a campaign: its QR code stops working (410)"""
        with uow() as u:
            campaign = service.revoke_campaign(u, campaign_id, admin_scopes(u))
            u.commit()
        return _campaign_out(campaign)


def _qr(campaign_id: str, render, mimetype: str) -> Response:
    with uow() as u:
        campaign = service.campaign_in_scope(u, campaign_id, admin_scopes(u))
    if campaign.status == "revoked":
        raise Conflict("campaign.revoked")
    response = Response(render(join_url(campaign.code)), mimetype=mimetype)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@campaigns_blp.route("/campaigns/<campaign_id>/qr.png")
class CampaignQrPng(MethodView):
    @require(ADMIN)
    @campaigns_blp.response(200, content_type="image/png")
    def get(self, campaign_id):
        """The poster's QR code as PNG"""
        scale = request.args.get("scale", default=8, type=int)
        return _qr(campaign_id, lambda url: qr.qr_png(url, scale=max(2, min(scale, 40))), "image/png")


@campaigns_blp.route("/campaigns/<campaign_id>/qr.svg")
class CampaignQrSvg(MethodView):
    @require(ADMIN)
    @campaigns_blp.response(200, content_type="image/svg+xml")
    def get(self, campaign_id):
        """The poster's QR code as SVG, for print"""
        return _qr(campaign_id, qr.qr_svg, "image/svg+xml")


def _count(campaign_id: str, counter: str) -> None:
    day = service.local_day(model.now())
    key = keys.campaign_funnel(campaign_id, day)
    try:
        pipe = ctx().redis.pipeline()
        pipe.hincrby(key, counter, 1)
        pipe.expire(key, 400 * 86400)
        pipe.execute()
    except Exception:  # counting is telemetry: a worker must still be able to join when Redis hiccups
        current_app.logger.warning("could not count %s for campaign %s", counter, campaign_id, exc_info=True)


def _counters(campaign_id: str, days: list[date]) -> dict[date, dict[str, int]]:
    pipe = ctx().redis.pipeline()
    for day in days:
        pipe.hgetall(keys.campaign_funnel(campaign_id, day))
    return {
        day: {k.decode(): int(v) for k, v in raw.items()}
        for day, raw in zip(days, pipe.execute(), strict=True)
    }


@campaigns_blp.route("/campaigns/<campaign_id>/stats")
class CampaignStats(MethodView):
    @require(ADMIN)
    @campaigns_blp.response(200, s.StatsOut)
    def get(self, campaign_id):
        """The campaign's funnel by day: scans, joins started, joins and conversion"""
        with uow() as u:
            campaign = service.campaign_in_scope(u, campaign_id, admin_scopes(u))
            today = service.local_day(model.now())
            counters = _counters(campaign.id, [today - timedelta(days=i) for i in range(90)])
            rows = service.funnel(u, campaign, counters)
        for row in rows:
            row["conversion"] = service.conversion(row["joins"], row["scans"])
        totals = {k: sum(r[k] for r in rows) for k in ("scans", "joins_started", "joins")}
        return {**totals, "conversion": service.conversion(totals["joins"], totals["scans"]), "by_day": rows}


@campaigns_blp.route("/join/<code>")
class JoinPage(MethodView):
    @campaigns_blp.response(200, s.JoinPageOut)
    def get(self, code):
        """What a worker sees after scanning a poster (counts a scan); 410 when revoked or expired"""
        with uow() as u:
            campaign, unit = service.open_campaign(u, code)
        _count(campaign.id, "scans")
        return {
            "campaign": campaign.name,
            "site": campaign.site,
            "branch": unit.name,
            "requires_approval": unit.requires_approval,
            "consent_version": enrol().settings.consent_version,
        }


# --- joining ----------------------------------------------------------------------------------


def _openid(p: Principal) -> str:
    if not p.subject.startswith("wx:"):
        raise Problem(403, "join.wechat_login_required")
    return p.subject[3:]


@campaigns_blp.route("/join")
class Join(MethodView):
    @require(MEMBER)
    @campaigns_blp.arguments(s.JoinIn)
    @campaigns_blp.response(201, s.JoinOut)
    @campaigns_blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}])
    def post(self, body):
        """Join the union through a campaign, with real-name details and consent"""
        openid = _openid(principal())
        settings = enrol().settings
        idem_key = validate_key(request.headers.get("Idempotency-Key"))
        scope = f"join:{openid}"
        form = service.JoinForm(**body)
        with uow() as u:
            if idem_key and (stored := replay(u.connection, db.idempotency_keys, scope, idem_key, body)):
                return _with_token(stored[1])
            campaign = repository.campaign_by_code(u.connection, form.campaign_code)
        ratelimit.hit(
            ctx().redis, keys.join_attempts(openid), limit=settings.join_limit_per_hour, window_seconds=3600
        )
        if campaign is not None:
            _count(campaign.id, "started")
        try:
            with uow() as u:
                member = service.join(
                    u,
                    form,
                    openid=openid,
                    keys=enrol().keys,
                    province=settings.card_province,
                    consent_version=settings.consent_version,
                    traceparent=current_traceparent(),
                )
                result = {"member_id": member.id, "card_no": member.card_no, "status": member.status}
                if idem_key:
                    remember(u.connection, db.idempotency_keys, scope, idem_key, body, 201, result)
                u.commit()
        except (exc.IntegrityError, Conflict) as error:
            # A concurrent join of the same person (or a retry with the same key) won the race. A
            # retry that checked for a stored answer just before its twin committed then meets the
            # twin's member (Conflict) or unique index (IntegrityError): it gets the twin's answer.
            with uow() as u:
                if idem_key and (stored := replay(u.connection, db.idempotency_keys, scope, idem_key, body)):
                    return _with_token(stored[1])
                if isinstance(error, Conflict):
                    raise
                conflict = service.explain_join_conflict(u, form, openid=openid, keys=enrol().keys)
            raise conflict or Conflict("member.already_joined") from None
        return _with_token(result)


def _with_token(result: dict) -> dict:
    token, ttl = enrol().issuer.issue(principal().subject, [MEMBER], member_id=result["member_id"])
    return {**result, "access_token": token, "expires_in": ttl}


# --- members ----------------------------------------------------------------------------------


def _member_out(row, branch_name: str) -> dict:
    return {
        "id": row.id,
        "branch_id": row.unit_id,
        "branch": branch_name,
        "card_no": row.card_no,
        "status": row.status,
        "name": row.name,
        "mobile": row.mobile_masked,
        "id_number": row.id_number_masked,
        "sex": row.sex,
        "birth_year": row.birth_date.year if row.birth_date else None,
        "employer": row.employer,
        "occupation": row.occupation,
        "joined_at": repository.utc(row.joined_at),
    }


def _me_member_id() -> str:
    member_id = principal().member_id
    if not member_id:
        raise NotFound("member.not_joined")
    return member_id


@members_blp.route("/members/me")
class Me(MethodView):
    @require(MEMBER)
    @members_blp.response(200, s.MemberOut)
    def get(self):
        """The member's own profile, mobile and ID number masked"""
        with uow() as u:
            row = repository.member_row(u.connection, _me_member_id())
            if row is None or row.erased_at is not None:
                raise NotFound("member.not_found")
            return _member_out(row, repository.unit(u.connection, row.unit_id).name)


@members_blp.route("/members/me/card/token")
class MyCardToken(MethodView):
    @require(MEMBER)
    @members_blp.response(200, s.CardTokenOut)
    def get(self):
        """The member card's rotating code: valid about a minute, accepted once"""
        with uow() as u:
            member = repository.member(u.connection, _me_member_id())
        if member is None or member.status != model.ACTIVE:
            raise Conflict("member.not_active")
        token, ttl = card_token.issue(
            member.id,
            secret=enrol().secrets.card_token_secret,
            now=int(time.time()),
            ttl=enrol().settings.card_token_ttl,
        )
        response = current_app.make_response(({"token": token, "expires_in": ttl}, 200))
        response.headers["Cache-Control"] = "no-store"
        return response


@members_blp.route("/members/me/erasure")
class MyErasure(MethodView):
    @require(MEMBER)
    @members_blp.response(204)
    def post(self):
        """Delete my personal data and leave the union (PIPL deletion request)"""
        with uow() as u:
            service.erase(
                u,
                _me_member_id(),
                actor=principal().subject,
                request_id=g.request_id,
                traceparent=current_traceparent(),
            )
            u.commit()


@members_blp.route("/card-tokens/redeem")
class CardRedeem(MethodView):
    @require(TILL)
    @members_blp.arguments(s.CardRedeemIn)
    @members_blp.response(200, s.CardRedeemOut)
    def post(self, body):
        """Accept a scanned member card code once; refuse members who are not active"""
        try:
            claims = card_token.redeem(
                body["token"],
                secret=enrol().secrets.card_token_secret,
                now=int(time.time()),
                used=card_token.RedisUsedTokens(ctx().redis, keys.used_card_token),
            )
        except card_token.CardTokenError as error:
            raise Invalid(error.code, field="token") from None
        with uow() as u:
            member = repository.member(u.connection, claims.member_id)
        if member is None or member.status != model.ACTIVE:
            raise Conflict("member.not_active")
        return {
            "member_id": member.id,
            "card_no": member.card_no,
            "status": member.status,
            "branch_id": member.unit_id,
        }


@members_blp.route("/members")
class Members(MethodView):
    @require(ADMIN)
    @members_blp.arguments(s.MemberListArgs, location="query")
    @members_blp.response(200, s.MemberPageOut)
    def get(self, args):
        """Members of the admin's subtree, masked, newest first"""
        with uow() as u:
            query, branches = _scoped_members(u, args)
            m = db.members.c
            total = u.connection.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = u.connection.execute(
                query.order_by(m.joined_at.desc())
                .limit(args["per_page"])
                .offset((args["page"] - 1) * args["per_page"])
            ).all()
        return {
            "items": [_member_out(r, branches[r.unit_id]) for r in rows],
            "page": args["page"],
            "per_page": args["per_page"],
            "total": total,
        }


def _scoped_members(u: UnitOfWork, args):
    scopes = admin_scopes(u)
    if args.get("branch_id"):
        scopes = [service.unit_in_scope(u, args["branch_id"], scopes).path]
    units = u.connection.execute(select(db.units.c.id, db.units.c.name).where(repository.within(scopes)))
    branches = {r.id: r.name for r in units}
    query = select(db.members).where(db.members.c.unit_id.in_(list(branches)))
    if args.get("status"):
        query = query.where(db.members.c.status == args["status"])
    return query, branches


@members_blp.route("/members/export.csv")
class MembersExport(MethodView):
    @require(ADMIN)
    @members_blp.arguments(s.MemberListArgs, location="query")
    @members_blp.response(200, content_type="text/csv")
    def get(self, args):
        """Export the admin's members as CSV (masked)"""
        with uow() as u:
            query, branches = _scoped_members(u, args)
            rows = u.connection.execute(query.order_by(db.members.c.joined_at)).all()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "card_no",
                "branch",
                "status",
                "name",
                "mobile",
                "id_number",
                "employer",
                "occupation",
                "joined_at",
            ]
        )
        for r in rows:
            writer.writerow(
                [
                    r.card_no,
                    branches[r.unit_id],
                    r.status,
                    r.name or "",
                    r.mobile_masked or "",
                    r.id_number_masked or "",
                    r.employer,
                    r.occupation,
                    repository.utc(r.joined_at).isoformat(),
                ]
            )
        # The BOM lets spreadsheet programs open the Chinese text correctly.
        return Response(
            "\ufeff" + out.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=members.csv"},
        )


@members_blp.route("/members/<member_id>")
class MemberDetail(MethodView):
    @require(ADMIN)
    @members_blp.response(200, s.MemberOut)
    def get(self, member_id):
        """One member, masked"""
        with uow() as u:
            member = service.member_in_scope(u, member_id, admin_scopes(u))
            row = repository.member_row(u.connection, member.id)
            return _member_out(row, repository.unit(u.connection, row.unit_id).name)


@members_blp.route("/members/<member_id>/personal-data")
class MemberPersonalData(MethodView):
    @require(ADMIN)
    @members_blp.response(200, s.PersonalDataOut)
    def get(self, member_id):
        """A member's unmasked name, mobile and ID number; every read is audited"""
        with uow() as u:
            data = service.personal_data(
                u,
                member_id,
                admin_scopes(u),
                keys=enrol().keys,
                actor=principal().subject,
                request_id=g.request_id,
            )
            u.commit()
        response = current_app.make_response((s.PersonalDataOut().dump(data), 200))
        response.headers["Cache-Control"] = "no-store"
        return response


def _status_view(action: str, summary: str, with_reason: bool):
    class StatusChange(MethodView):
        @require(ADMIN)
        @members_blp.arguments(s.ReasonIn)
        @members_blp.response(200, s.StatusOut)
        def post(self, body, member_id):
            with uow() as u:
                member = service.change_status(
                    u,
                    member_id,
                    admin_scopes(u),
                    action,
                    reason=body.get("reason") if with_reason else None,
                    traceparent=current_traceparent(),
                )
                u.commit()
            return member

    StatusChange.post.__doc__ = summary
    StatusChange.__name__ = f"Member{action.title()}"
    return StatusChange


for _action, _summary, _reason in [
    ("approve", "Approve a pending application", False),
    ("reject", "Reject a pending application", True),
    ("suspend", "Suspend an active member: card refused, bookings cancelled", True),
    ("reinstate", "Reinstate a suspended member", False),
    ("leave", "Record that a member left the union", True),
]:
    members_blp.route(f"/members/<member_id>/{_action}", endpoint=f"member_{_action}")(
        _status_view(_action, _summary, _reason)
    )


@members_blp.route("/members/<member_id>/transfer")
class MemberTransfer(MethodView):
    @require(ADMIN)
    @members_blp.arguments(s.TransferIn)
    @members_blp.response(200, s.StatusOut)
    def post(self, body, member_id):
        """Transfer a member to another branch in the admin's subtree"""
        with uow() as u:
            member = service.transfer(
                u, member_id, admin_scopes(u), body["branch_id"], traceparent=current_traceparent()
            )
            u.commit()
        return member


@members_blp.route("/audit")
class AuditLog(MethodView):
    @require(ADMIN)
    @members_blp.response(200, s.AuditOut(many=True))
    def get(self):
        """Audit trail of personal-data reads and erasures in the admin's subtree"""
        member_id = request.args.get("member_id")
        with uow() as u:
            scopes = admin_scopes(u)
            # Scoped in SQL, before the limit: an admin gets the latest 200 rows of their subtree.
            query = (
                select(db.audit_log)
                .join(db.members, db.members.c.id == db.audit_log.c.member_id)
                .join(db.units, db.units.c.id == db.members.c.unit_id)
                .where(repository.within(scopes))
                .order_by(db.audit_log.c.at.desc())
                .limit(200)
            )
            if member_id:
                service.member_in_scope(u, member_id, scopes)
                query = query.where(db.audit_log.c.member_id == member_id)
            rows = u.connection.execute(query).all()
        return [dict(r._mapping) for r in rows]


# --- staff ------------------------------------------------------------------------------------


@staff_blp.route("")
class Staff(MethodView):
    @require(ADMIN)
    @staff_blp.arguments(s.StaffIn)
    @staff_blp.response(201, s.IdOut)
    def post(self, body):
        """Create a staff account: an admin of a unit, merchant till staff, or a station coordinator"""
        with uow() as u:
            staff_id = service.create_staff(u, admin_scopes(u), actor=principal().subject, **body)
            u.commit()
        return {"id": staff_id}


BLUEPRINTS = [auth_blp, jwks_blp, units_blp, campaigns_blp, members_blp, staff_blp]
