"""The bare baseline for tests/load/bench_request_path.py: the least a Flask app can do per request.

    BARE_DATABASE_URL=postgresql://... BARE_REDIS_URL=redis://127.0.0.1:6379/12 \\
    .venv/bin/python -m gunicorn --pythonpath tests/load 'bare_app:create_app()' \\
        --bind 127.0.0.1:8300 --workers 2 --threads 4

Served by gunicorn with the same workers and threads as a UnionHub service, so the ratio of the
two measures what our request path adds, not the server. No hooks, no metrics, no logging, no
schemas, no access log:

* ``GET /json``: a small JSON body (what ``/healthz`` answers).
* ``GET /incr``: one Redis INCR (what the scan page's counting costs at the least).
* ``POST /join``: the database work and signing of a join at the least: read the JSON body, insert
  a member-like row and an outbox-like row in one PostgreSQL transaction, sign an Ed25519 JWT
  (PyJWT, as services/enrolment/tokens.py does).

Not a test (pytest collects test_*.py only).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid

import jwt
import psycopg
import redis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask, jsonify, request

MEMBERS_DDL = """
CREATE TABLE IF NOT EXISTS bare_members (
    id varchar(36) PRIMARY KEY,
    campaign_code varchar(40) NOT NULL,
    name varchar(60),
    mobile text,
    id_number text,
    employer varchar(60) NOT NULL,
    occupation varchar(60) NOT NULL,
    openid varchar(64),
    joined_at timestamptz NOT NULL
)"""
OUTBOX_DDL = """
CREATE TABLE IF NOT EXISTS bare_outbox (
    seq bigserial PRIMARY KEY,
    event_id varchar(36) NOT NULL UNIQUE,
    topic varchar(120) NOT NULL,
    key varchar(120) NOT NULL,
    type varchar(120) NOT NULL,
    payload text NOT NULL,
    created_at timestamptz NOT NULL,
    sent_at timestamptz
)"""
INSERT_MEMBER = (
    "INSERT INTO bare_members (id, campaign_code, name, mobile, id_number, employer, occupation, openid,"
    " joined_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now())"
)
INSERT_OUTBOX = (
    "INSERT INTO bare_outbox (event_id, topic, key, type, payload, created_at)"
    " VALUES (%s, 'members', %s, 'bare.member.joined.v1', %s, now())"
)


def create_app() -> Flask:
    app = Flask(__name__)
    app.json.ensure_ascii = False
    client = redis.Redis.from_url(os.environ.get("BARE_REDIS_URL", "redis://127.0.0.1:6379/12"))
    dsn = os.environ.get("BARE_DATABASE_URL", "")
    signing_key = Ed25519PrivateKey.generate()
    local = threading.local()  # one connection per gunicorn thread: the least pooling there is

    if dsn:
        with psycopg.connect(dsn) as conn, conn.transaction():
            # Both workers start at once; CREATE TABLE IF NOT EXISTS alone races on the type name.
            conn.execute("SELECT pg_advisory_xact_lock(7203)")
            conn.execute(MEMBERS_DDL)
            conn.execute(OUTBOX_DDL)

    def connection() -> psycopg.Connection:
        conn = getattr(local, "conn", None)
        if conn is None or conn.closed:
            conn = local.conn = psycopg.connect(dsn)
        return conn

    @app.get("/json")
    def bare_json():
        return jsonify(status="ok", service="bare")

    @app.get("/incr")
    def bare_incr():
        return jsonify(count=client.incr("bare:scans"))

    @app.post("/join")
    def bare_join():
        body = request.get_json()
        member_id = str(uuid.uuid4())
        openid = "bare-" + member_id[:20]
        conn = connection()
        with conn.transaction():
            conn.execute(
                INSERT_MEMBER,
                (
                    member_id,
                    body["campaign_code"],
                    body["name"],
                    body["mobile"],
                    body["id_number"],
                    body["employer"],
                    body["occupation"],
                    openid,
                ),
            )
            conn.execute(
                INSERT_OUTBOX,
                (str(uuid.uuid4()), member_id, json.dumps({"member_id": member_id}, ensure_ascii=False)),
            )
        now = int(time.time())
        claims = {
            "iss": "bare",
            "aud": "unionhub",
            "sub": "wx:" + openid,
            "iat": now,
            "nbf": now,
            "exp": now + 900,
            "jti": uuid.uuid4().hex,
            "roles": ["member"],
            "member_id": member_id,
        }
        token = jwt.encode(claims, signing_key, algorithm="EdDSA", headers={"kid": "bare"})
        return jsonify(member_id=member_id, status="active", access_token=token, expires_in=900), 201

    return app
