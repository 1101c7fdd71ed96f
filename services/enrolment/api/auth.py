"""Logging in: staff with a password, members with the code from wx.login."""

from flask.views import MethodView
from flask_smorest import Blueprint

from services.common.domain import Forbidden
from services.common.errors import Problem
from services.common.views import client_ip, context, unit_of_work

from .. import accounts
from .. import schemas as s
from .context import enrolment

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Logging in")


def _rules() -> accounts.LoginRules:
    e = enrolment()
    return accounts.LoginRules(
        issuer=e.issuer,
        limit_per_minute=e.settings.login_limit_per_minute,
        code2session_url=e.settings.wechat_code2session_url,
        appid=e.settings.wechat_appid,
        app_secret=e.settings.wechat_secret,
    )


@blp.route("/staff/login")
class StaffLogin(MethodView):
    @blp.arguments(s.StaffLoginIn)
    @blp.response(200, s.TokenOut)
    def post(self, body):
        """Log a staff member in with username and password"""
        try:
            token, ttl = accounts.log_in_staff(
                unit_of_work(), context().redis, _rules(), ip=client_ip(), **body
            )
        except Forbidden:
            raise Problem(401, "login.failed") from None
        return {"access_token": token, "expires_in": ttl}


@blp.route("/wechat")
class WeChatLogin(MethodView):
    @blp.arguments(s.WeChatLoginIn)
    @blp.response(200, s.WeChatTokenOut)
    def post(self, body):
        """Log a worker in with the code from wx.login"""
        return accounts.log_in_member(
            unit_of_work(), context().redis, _rules(), code=body["code"], ip=client_ip()
        )
