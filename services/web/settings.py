"""The web pages' settings: the common ones, plus whether a phone browser may log a worker in."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.config import Settings


@dataclass(frozen=True)
class WebSettings(Settings):
    # A member's token comes only from WeChat (wx.login → code2session). A phone browser has no
    # wx.login, so the H5 join and duty pages log in with a code of their own device; that works
    # only against the local WeChat fake. Compose and Kubernetes, which talk to WeChat itself, set
    # it false and the pages send the worker to the mini-app instead (docs/web.md).
    device_login: bool = True


SETTINGS = WebSettings
