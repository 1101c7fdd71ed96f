"""Every Redis key enrolment uses, built here and nowhere else."""

from datetime import date

PREFIX = "enrolment"


def login_attempts(kind: str, who: str) -> str:
    return f"{PREFIX}:login:{kind}:{who}"


def join_attempts(openid: str) -> str:
    return f"{PREFIX}:join:{openid}"


def campaign_funnel(campaign_id: str, day: date) -> str:
    return f"{PREFIX}:campaign:{campaign_id}:funnel:{day.isoformat()}"


def used_card_token(nonce: str) -> str:
    return f"{PREFIX}:card_token:used:{nonce}"
