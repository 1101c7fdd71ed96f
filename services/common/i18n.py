"""Member-facing text in zh-CN and en, looked up by stable codes.

Codes are what clients and tests match on; the text is for people and may change. zh-CN is the
default because the mini-app's users read Chinese; ``Accept-Language: en`` switches to English.
"""

from __future__ import annotations

from schemas.field_messages import FIELD_MESSAGES

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"

MESSAGES: dict[str, dict[str, str]] = {
    # Generic problems
    "validation_failed": {"en": "Some fields are not valid.", "zh-CN": "提交的信息有误，请检查后重试"},
    "bad_request": {"en": "The request could not be read.", "zh-CN": "请求格式不正确"},
    "unauthorized": {"en": "Please log in first.", "zh-CN": "请先登录"},
    "token_invalid": {"en": "Your login has expired or is not valid.", "zh-CN": "登录已失效，请重新登录"},
    "forbidden": {"en": "You are not allowed to do this.", "zh-CN": "您没有权限进行此操作"},
    "not_found": {"en": "Not found.", "zh-CN": "未找到相关内容"},
    "method_not_allowed": {"en": "Method not allowed.", "zh-CN": "不支持该请求方式"},
    "conflict": {"en": "This conflicts with the current state.", "zh-CN": "操作与当前状态冲突"},
    "gone": {"en": "This is no longer available.", "zh-CN": "该内容已失效"},
    "too_many_requests": {
        "en": "Too many attempts. Please wait and try again.",
        "zh-CN": "操作过于频繁，请稍后再试",
    },
    "payload_too_large": {"en": "The request is too large.", "zh-CN": "请求内容过大"},
    "unsupported_media_type": {"en": "Send JSON.", "zh-CN": "请以JSON格式提交"},
    "internal_error": {"en": "Something went wrong on our side.", "zh-CN": "服务器开小差了，请稍后再试"},
    "service_unavailable": {"en": "The service is unavailable.", "zh-CN": "服务暂不可用，请稍后再试"},
    "idempotency_key_reused": {
        "en": "This Idempotency-Key was already used with a different request.",
        "zh-CN": "该幂等键已用于另一个不同的请求",
    },
    "idempotency_in_progress": {
        "en": "The same request is still being processed.",
        "zh-CN": "相同的请求正在处理中，请稍候",
    },
    # A member acting in another service, as that service's projection of member events knows them
    "member.unknown": {
        "en": "Your membership is not known here yet. If you just joined, try again in a moment.",
        "zh-CN": "暂未查到您的会员信息，如刚刚入会请稍后再试",
    },
    "member.pending": {"en": "Your membership is awaiting approval.", "zh-CN": "您的入会申请正在审核中"},
    "member.suspended": {"en": "Your membership is suspended.", "zh-CN": "您的会员资格已被暂停"},
    "member.left": {"en": "You are no longer a member.", "zh-CN": "您已不是工会会员"},
    "member.rejected": {"en": "Your membership application was not approved.", "zh-CN": "您的入会申请未通过"},
    "member.inactive": {"en": "Your membership is not active.", "zh-CN": "您的会员资格当前无效"},
    "branch.not_found": {"en": "Branch not found.", "zh-CN": "未找到该基层工会"},
    "enrolment.unavailable": {
        "en": "The membership service does not answer. Please try again shortly.",
        "zh-CN": "会员服务暂不可用，请稍后再试",
    },
    # Field-level, for marshmallow's own errors
    "required": {"en": "This field is required.", "zh-CN": "此项为必填项"},
    "null": {"en": "This field may not be empty.", "zh-CN": "此项不能为空"},
    "invalid_type": {"en": "This value has the wrong type.", "zh-CN": "此项的类型不正确"},
    "unknown_field": {"en": "Unknown field.", "zh-CN": "不认识的字段"},
    "invalid": {"en": "This value is not valid.", "zh-CN": "此项内容不正确"},
    "length": {"en": "This value is too short or too long.", "zh-CN": "此项长度不符合要求"},
    "one_of": {"en": "This value is not one of the allowed choices.", "zh-CN": "此项不在可选范围内"},
    "range": {"en": "This value is out of range.", "zh-CN": "此项超出允许范围"},
    "nul_character": {
        "en": "This value holds a character that is not allowed (U+0000).",
        "zh-CN": "此项含有不允许的字符",
    },
    "lone_surrogate": {
        "en": "This value holds an unpaired UTF-16 surrogate, which is not a character.",
        "zh-CN": "此项含有无法识别的字符",
    },
    **FIELD_MESSAGES,
}

# marshmallow's built-in English messages, mapped to our codes. Matching by prefix covers the
# messages that carry parameters ("Length must be between 1 and 50.").
_MARSHMALLOW_PREFIXES = {
    "Missing data for required field": "required",
    "Field may not be null": "null",
    "Unknown field": "unknown_field",
    "Not a valid": "invalid_type",
    "Invalid input type": "invalid_type",
    "Must be one of": "one_of",
    "Length must be": "length",
    "Shorter than minimum length": "length",
    "Longer than maximum length": "length",
    "Must be greater than": "range",
    "Must be less than": "range",
    "Must be at least": "range",
    "Must be at most": "range",
    "Must be equal to": "invalid",
}


def register(messages: dict[str, dict[str, str]]) -> None:
    """Add a service's own codes; each needs both languages."""
    for code, texts in messages.items():
        missing = [lang for lang in LANGUAGES if lang not in texts]
        if missing:
            raise ValueError(f"message {code!r} lacks {missing}")
    MESSAGES.update(messages)


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def code_for(message: str) -> str:
    """The code of a field error message: our own codes pass through, marshmallow's are mapped."""
    if message in MESSAGES:
        return message
    for prefix, code in _MARSHMALLOW_PREFIXES.items():
        if message.startswith(prefix):
            return code
    return "invalid"


def translate(code: str, lang: str, fallback: str | None = None, **params) -> str:
    texts = MESSAGES.get(code)
    if texts is None:
        return fallback or code
    text = texts.get(lang) or texts["en"]
    return text.format(**params) if params else text
