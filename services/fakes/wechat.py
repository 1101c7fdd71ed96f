"""A stand-in for WeChat's code2session endpoint.

Each login code maps to a stable openid, so the same code logs the same person in; the codes
"invalid" and "used" answer with WeChat's error codes for those cases.
"""

from __future__ import annotations

import hashlib

from flask import Flask, jsonify, request


def openid_for(code: str) -> str:
    return "o" + hashlib.sha256(code.encode()).hexdigest()[:27]


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/sns/jscode2session")
    def code2session():
        code = request.args.get("js_code", "")
        if not request.args.get("appid") or not request.args.get("secret"):
            return jsonify(errcode=41002, errmsg="appid missing")
        if not code or code == "invalid":
            return jsonify(errcode=40029, errmsg="invalid code")
        if code == "used":
            return jsonify(errcode=40163, errmsg="code been used")
        return jsonify(
            openid=openid_for(code), session_key=hashlib.sha256(b"s" + code.encode()).hexdigest()[:24]
        )

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    return app
