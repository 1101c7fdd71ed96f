"""A stand-in for the identity provider: 二要素 checks (name + resident ID number) and SMS delivery.

The 二要素 rule is deterministic, so tests choose the answer by the details they send:

* a name and an ID number **match**, unless
* the name is in ``MISMATCH_NAMES`` (the provider's records name someone else), or
* the ID number is in ``UNKNOWN_ID_NUMBERS`` (the provider has no such person),

which answer ``mismatch`` and ``not_found``. Every call needs the app id and secret (HTTP Basic),
as the real provider's does.

Texts sent through ``POST /sms/send`` are kept in memory, and ``GET /fake/sms/messages?mobile=``
(also ``/sms/messages``, where the local gateway's ``/fake/sms/messages`` route lands) answers the
outbox newest first as ``[{mobile, text, code, sent_at}]``, ``code`` being the six-digit code found
in the text: how development and tests read a code that would go to a phone.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

from flask import Flask, jsonify, request

MISMATCH_NAMES = frozenset({"李鬼", "冒名顶替"})
# Valid numbers (their check characters hold) that the provider has no record of.
UNKNOWN_ID_NUMBERS = frozenset({"11010519491231002X"})
OUTBOX_LIMIT = 1000  # a long local run keeps the newest texts only

_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


def create_app() -> Flask:
    app = Flask(__name__)
    outbox: list[dict] = []
    lock = threading.Lock()

    def authorised() -> bool:
        auth = request.authorization
        return bool(auth and auth.username and auth.password)

    @app.post("/identity/verify")
    def verify():
        if not authorised():
            return jsonify(error="unauthorised"), 401
        body = request.get_json(silent=True) or {}
        name, number = str(body.get("name", "")), str(body.get("id_number", "")).upper()
        if not name or not number:
            return jsonify(error="name and id_number are required"), 400
        if number in UNKNOWN_ID_NUMBERS:
            return jsonify(result="not_found")
        return jsonify(result="mismatch" if name in MISMATCH_NAMES else "match")

    @app.post("/sms/send")
    def send():
        if not authorised():
            return jsonify(error="unauthorised"), 401
        body = request.get_json(silent=True) or {}
        mobile, text = str(body.get("mobile", "")), str(body.get("text", ""))
        if not mobile or not text:
            return jsonify(error="mobile and text are required"), 400
        found = _CODE.search(text)
        message = {
            "mobile": mobile,
            "text": text,
            "code": found.group(1) if found else None,
            "sent_at": datetime.now(UTC).isoformat(),
        }
        with lock:
            outbox.append(message)
            del outbox[:-OUTBOX_LIMIT]
        return jsonify(result="sent")

    # The gateway's local route /fake/sms/messages proxies to /sms/messages (deploy/local); the
    # fake answers the contract's path too, so a caller can skip the gateway.
    @app.get("/sms/messages")
    @app.get("/fake/sms/messages")
    def messages():
        mobile = request.args.get("mobile")
        with lock:
            newest_first = list(reversed(outbox))
        return jsonify([m for m in newest_first if mobile is None or m["mobile"] == mobile])

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    return app
