"""WeChat mini-program login: exchange a wx.login code for the user's openid (code2session)."""

from __future__ import annotations

import requests

from services.common.domain import Invalid, Unavailable
from services.common.outbound import JsonClient

# One pool of kept-alive connections per process, as for the identity provider. With a Session and
# a TCP (in production a TLS) connection made anew for every login, this call was more than half of
# a login's CPU in enrolment; kept alive, a login costs a third less (docs/benchmarks.md, "Mixed load").
_client = JsonClient()
MAX_OPENID = 61


def code2session(url: str, appid: str, secret: str, code: str, *, timeout: float = 5.0) -> str:
    try:
        body = _client.get(
            url,
            {"appid": appid, "secret": secret, "js_code": code, "grant_type": "authorization_code"},
            timeout=timeout,
        )
    except (requests.RequestException, ValueError) as error:
        raise Unavailable("wechat.unavailable") from error
    if not isinstance(body, dict):
        raise Unavailable("wechat.unavailable")
    if body.get("errcode"):
        # 40029 invalid code, 40163 code already used: both mean "log in again" to the member.
        raise Invalid("wechat.code_invalid", field="code")
    openid = body.get("openid")
    # WeChat's are 28 characters; anything else is not an answer we can key a member on (the column
    # holds 64, an audit row's actor "wx:" and the openid).
    if not (
        isinstance(openid, str)
        and 1 <= len(openid) <= MAX_OPENID
        and openid.isascii()
        and openid.isprintable()
    ):
        raise Unavailable("wechat.unavailable")
    return openid
