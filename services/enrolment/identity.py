"""Real-name checks before a join: the identity provider (二要素核验, SMS delivery) and the SMS codes.

The provider sits behind configurable endpoints and is called with ``requests``, like WeChat's
code2session; locally and in tests it is services/fakes/identity.py. It only checks a name against
an ID number and delivers a text: the SMS code is made and checked here, so the provider never
learns which code unlocks a join, and a leaked provider log cannot replay one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import redis
import requests

from services.common.domain import Invalid, Unavailable
from services.common.outbound import JsonClient, basic_auth

from . import keys

log = logging.getLogger(__name__)

SMS_TEXT = "【职工之家】您的入会验证码为{code}，{minutes}分钟内有效。请勿告诉他人。"
CODE_DIGITS = 6

# One pool of kept-alive connections per process: a new TCP connection per join cost a round trip.
_client = JsonClient()


@dataclass(frozen=True)
class Provider:
    """The identity provider's two services, each a JSON POST authenticated with the app id and secret."""

    verify_url: str
    sms_url: str
    appid: str
    secret: str
    timeout: float = 5.0

    def _post(self, url: str, body: dict, unavailable: str) -> dict:
        try:
            answer = _client.post(
                url, body, timeout=self.timeout, authorization=_authorization(self.appid, self.secret)
            )
        except (requests.RequestException, ValueError) as error:
            raise Unavailable(unavailable) from error
        if not isinstance(answer, dict):
            raise Unavailable(unavailable)
        return answer

    def verify(self, name: str, id_number: str) -> None:
        """Refuse unless the provider says this name and this resident ID number belong together."""
        result = self._post(
            self.verify_url, {"name": name, "id_number": id_number}, "identity.unavailable"
        ).get("result")
        if result in ("mismatch", "not_found"):
            raise Invalid("identity.mismatch", field="id_number")
        if result != "match":
            # Anything else is the provider failing to decide: never a pass.
            raise Unavailable("identity.unavailable")

    def send_sms(self, mobile: str, text: str) -> None:
        self._post(self.sms_url, {"mobile": mobile, "text": text}, "sms.unavailable")


@lru_cache(maxsize=8)
def _authorization(appid: str, secret: str) -> str:
    # A Provider is made per request from the settings; the header it sends is made once.
    return basic_auth(appid, secret)


@contextmanager
def fail_closed(code: str = "service_unavailable") -> Iterator[None]:
    """Redis errors become 503: a check that cannot be made refuses, it never lets through."""
    try:
        yield
    except redis.RedisError as error:
        raise Unavailable(code) from error


@dataclass(frozen=True)
class SmsCodes:
    """One-time codes sent to a mobile for one WeChat user: held as a keyed HMAC with a short TTL,
    a bounded number of guesses, accepted once. A new code replaces the previous one."""

    client: redis.Redis
    key: bytes
    ttl: int = 300
    max_attempts: int = 5

    def _hash(self, *parts: str) -> str:
        # Redis holds neither mobiles, openids nor codes in clear: keys and values are keyed hashes.
        return hmac.new(self.key, "\n".join(parts).encode(), hashlib.sha256).hexdigest()

    def _subject(self, openid: str, mobile: str) -> str:
        return self._hash("subject", openid, mobile)

    def _digest(self, subject: str, code: str) -> str:
        return self._hash("code", subject, code)

    def mobile_tag(self, mobile: str) -> str:
        """A stand-in for the mobile in rate-limit keys."""
        return self._hash("mobile", mobile)

    def issue(self, openid: str, mobile: str) -> tuple[str, tuple | None]:
        """A new code in place of the current one; the code, and the one replaced (for ``restore``)."""
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        subject = self._subject(openid, mobile)
        key = keys.join_sms_code(subject)
        with fail_closed("sms.unavailable"):
            pipe = self.client.pipeline()
            pipe.hgetall(key)
            pipe.pttl(key)
            pipe.delete(key)
            pipe.hset(key, mapping={"digest": self._digest(subject, code), "attempts": 0})
            pipe.expire(key, self.ttl)
            replaced, ttl_ms, *_ = pipe.execute()
        return code, ((replaced, ttl_ms) if replaced and ttl_ms > 0 else None)

    def restore(self, openid: str, mobile: str, replaced: tuple | None) -> None:
        """Put back the code ``issue`` replaced, the new one never having reached the phone: the
        code the worker has keeps working. Redis failing here leaves the new code, which a resend
        replaces."""
        key = keys.join_sms_code(self._subject(openid, mobile))
        try:
            pipe = self.client.pipeline()
            pipe.delete(key)
            if replaced is not None:
                mapping, ttl_ms = replaced
                pipe.hset(key, mapping=mapping)
                pipe.pexpire(key, ttl_ms)
            pipe.execute()
        except redis.RedisError:
            log.warning("the SMS code replaced could not be put back", exc_info=True)

    def check(self, openid: str, mobile: str, code: str, *, request: str | None = None) -> None:
        """Accept the current code once; a wrong guess counts, and the last allowed one burns the code.

        ``request`` names one idempotent request (its Idempotency-Key and body). A retry of that
        same request may present the code it spent again: a double tap racing the first tap, or a
        retry after the provider was down, must get the first answer, not "code already used".
        """
        subject = self._subject(openid, mobile)
        key = keys.join_sms_code(subject)
        spent = keys.join_sms_spent(self._hash("request", subject, request)) if request else None
        digest = self._digest(subject, code)

        def consume(pipe) -> bool:
            stored = pipe.hgetall(key)
            spent_by_request = pipe.get(spent) if spent else None
            pipe.multi()
            if not stored:
                return spent_by_request is not None and hmac.compare_digest(spent_by_request.decode(), digest)
            if hmac.compare_digest(stored[b"digest"].decode(), digest):
                pipe.delete(key)
                if spent:
                    pipe.set(spent, digest, ex=self.ttl)
                return True
            if int(stored[b"attempts"]) + 1 >= self.max_attempts:
                pipe.delete(key)
            else:
                pipe.hincrby(key, "attempts", 1)
            return False

        # WATCH makes the read and the delete one step: of two requests with the right code, the
        # second sees the key gone (or its EXEC fails and it reads again) and is refused.
        watched = [key, spent] if spent else [key]
        with fail_closed("sms.unavailable"):
            accepted = self.client.transaction(consume, *watched, value_from_callable=True)
        if not accepted:
            raise Invalid("sms.code_invalid", field="sms_code")


def sms_text(code: str, ttl: int) -> str:
    return SMS_TEXT.format(code=code, minutes=max(ttl // 60, 1))


def code_key(pii_hash_key: bytes) -> bytes:
    """The SMS codes' HMAC key, derived from the blind-index key so no new secret must be deployed;
    the label keeps the two uses apart."""
    return hmac.new(pii_hash_key, b"unionhub/enrolment/join-sms-code/v1", hashlib.sha256).digest()
