"""code2session's answer: an openid the member is keyed on, a code to log in again with, or WeChat
unavailable; never a 500 for an answer of the wrong shape."""

from __future__ import annotations

import pytest

from services.common.domain import Invalid, Unavailable
from services.enrolment import wechat


def _answering(monkeypatch, body) -> None:
    monkeypatch.setattr(wechat._client, "get", lambda *_args, **_kwargs: body)


def test_an_answer_with_an_openid_logs_the_member_in(monkeypatch):
    _answering(monkeypatch, {"openid": "oAbC-123_xyz", "session_key": "k"})
    assert wechat.code2session("http://wx.example/sns", "app", "secret", "code") == "oAbC-123_xyz"


def test_an_answer_with_an_error_code_asks_for_a_new_code(monkeypatch):
    _answering(monkeypatch, {"errcode": 40029, "errmsg": "invalid code"})
    with pytest.raises(Invalid) as refused:
        wechat.code2session("http://wx.example/sns", "app", "secret", "code")
    assert refused.value.code == "wechat.code_invalid"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"errcode": 0},
        {"openid": None},
        {"openid": 12345},
        {"openid": ""},
        {"openid": "o" * 62},
        {"openid": "o\x00"},
    ],
    ids=["empty", "errcode-0", "null", "number", "blank", "too-long", "nul"],
)
def test_an_answer_without_a_usable_openid_is_wechat_unavailable(monkeypatch, body):
    _answering(monkeypatch, body)
    with pytest.raises(Unavailable) as refused:
        wechat.code2session("http://wx.example/sns", "app", "secret", "code")
    assert refused.value.code == "wechat.unavailable"
