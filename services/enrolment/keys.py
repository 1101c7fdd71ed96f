"""Every Redis key enrolment uses, built here and nowhere else."""

from datetime import date

PREFIX = "enrolment"


def login_attempts(kind: str, who: str) -> str:
    return f"{PREFIX}:login:{kind}:{who}"


def card_redeems(staff: str) -> str:
    """A till login's card codes redeemed here this minute."""
    return f"{PREFIX}:redeem:{staff}"


def join_attempts(openid: str) -> str:
    return f"{PREFIX}:join:{openid}"


def campaign_funnel(campaign_id: str, day: date) -> str:
    return f"{PREFIX}:campaign:{campaign_id}:funnel:{day.isoformat()}"


def join_sms_code(subject: str) -> str:
    """The current join SMS code of one WeChat user and mobile; ``subject`` is a keyed hash of both."""
    return f"{PREFIX}:join_sms:code:{subject}"


def join_sms_spent(request: str) -> str:
    """Which code one idempotent join request spent; ``request`` is a keyed hash of it."""
    return f"{PREFIX}:join_sms:spent:{request}"


def join_sms_sends(kind: str, who: str) -> str:
    """SMS codes sent per hour, ``kind`` "openid" or "mobile" (``who`` a keyed hash for a mobile)."""
    return f"{PREFIX}:join_sms:sent:{kind}:{who}"


def login_throttle(kind: str, who: str) -> str:
    """Failed staff logins (services/common/login_throttle.py): ``kind`` pair, source or account."""
    return f"{PREFIX}:login_throttle:{kind}:{who}"


def campaign_scanners(campaign_id: str, day: date) -> str:
    """A HyperLogLog of who scanned a campaign's poster that day (funnel.py: unique scans)."""
    return f"{PREFIX}:campaign:{campaign_id}:scanners:{day.isoformat()}"


def scan_source(source: str) -> str:
    """Scans one source made in the current window, to bound what it can add to the counts."""
    return f"{PREFIX}:scan_source:{source}"
