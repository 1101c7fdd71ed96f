"""The bare baseline of the benchmarks in tests/load/: the least a Flask app can do per request.

    BARE_DATABASE_URL=postgresql://... BARE_REDIS_URL=redis://127.0.0.1:6379/12 \\
    [BARE_COURSE_CAPACITY=500] [BARE_GEO_POINTS=points.json] \\
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
* ``POST /book`` (tests/load/bench_courses.py): one conditional single-row UPDATE, the seat taking of
  a booking and nothing else: ``confirmed = confirmed + 1 WHERE id = 1 AND confirmed < capacity``
  on an autocommit connection (one statement, one round trip), the row made at start with
  ``BARE_COURSE_CAPACITY`` seats.
* ``GET /geo?lat=&lng=[&radius_m=5000]`` (tests/load/bench_stations.py): the finder's GEOSEARCH
  (radius, nearest first, with distances) on ``bare:geo:all``, which the app fills at start from
  ``BARE_GEO_POINTS`` (a JSON list of [lng, lat, id]); answers the 20 nearest ids and distances.
* ``POST /redeem`` (tests/load/bench_merchants.py): a till redemption at the least: one Redis SET NX
  of the body's ``nonce`` (409 when it was spent), then one INSERT into ``bare_redemptions`` on an
  autocommit connection (one statement, one round trip); answers 201 with the row's id.

For the mixed load (tests/load/bench_mixed.py), ``BARE_COURSES`` courses (default 1) of
``BARE_COURSE_CAPACITY`` seats each, ``POST /book?course=N`` taking a seat of course N (default 1), and
the least of what the member pages and a login do:

* ``GET /list``: one SELECT of every course with its seats left (the course list of a term);
* ``GET /row?course=N``: one SELECT of one row by its key (a member's own profile or bookings);
* ``GET /card?course=N``: that SELECT, then an Ed25519 signature over a short code (a card code);
* ``POST /token``: a signed JWT and no I/O (a WeChat login at the least).

Not a test (pytest collects test_*.py only).
"""

from __future__ import annotations

import base64
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
COURSES_DDL = """
CREATE TABLE IF NOT EXISTS bare_courses (
    id integer PRIMARY KEY,
    capacity integer NOT NULL,
    confirmed integer NOT NULL DEFAULT 0
)"""
REDEMPTIONS_DDL = """
CREATE TABLE IF NOT EXISTS bare_redemptions (
    id varchar(36) PRIMARY KEY,
    nonce varchar(64) NOT NULL,
    store_id varchar(64) NOT NULL,
    amount_fen integer NOT NULL,
    created_at timestamptz NOT NULL
)"""
INSERT_REDEMPTION = (
    "INSERT INTO bare_redemptions (id, nonce, store_id, amount_fen, created_at)"
    " VALUES (%s, %s, %s, %s, now())"
)
NONCE_TTL_SECONDS = 605  # a card code lives at most 600 s, and merchants keeps its nonce 5 s past that
INSERT_COURSES = (
    "INSERT INTO bare_courses (id, capacity) SELECT n, %s FROM generate_series(1, %s) AS n"
    " ON CONFLICT (id) DO NOTHING"
)
TAKE_SEAT = "UPDATE bare_courses SET confirmed = confirmed + 1 WHERE id = %s AND confirmed < capacity"
LIST_COURSES = "SELECT id, capacity - confirmed FROM bare_courses ORDER BY id LIMIT 50"
READ_COURSE = "SELECT id, capacity, confirmed FROM bare_courses WHERE id = %s"
GEO_KEY = "bare:geo:all"
GEO_LIMIT = 20
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
            conn.execute(COURSES_DDL)
            conn.execute(REDEMPTIONS_DDL)
            conn.execute(
                INSERT_COURSES,
                (
                    int(os.environ.get("BARE_COURSE_CAPACITY", "500")),
                    int(os.environ.get("BARE_COURSES", "1")),
                ),
            )
    points = os.environ.get("BARE_GEO_POINTS")
    if points:
        with open(points, encoding="utf-8") as f:
            # Both workers fill it at once; GEOADD of the same members is idempotent.
            client.geoadd(GEO_KEY, [value for point in json.load(f) for value in point])

    def connection() -> psycopg.Connection:
        conn = getattr(local, "conn", None)
        if conn is None or conn.closed:
            conn = local.conn = psycopg.connect(dsn)
        return conn

    def autocommit() -> psycopg.Connection:
        conn = getattr(local, "auto", None)
        if conn is None or conn.closed:
            conn = local.auto = psycopg.connect(dsn, autocommit=True)
        return conn

    def course() -> int:
        return int(request.args.get("course", 1))

    def signed(claims: dict) -> str:
        return jwt.encode(claims, signing_key, algorithm="EdDSA", headers={"kid": "bare"})

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
        token = signed(claims)
        return jsonify(member_id=member_id, status="active", access_token=token, expires_in=900), 201

    @app.post("/book")
    def bare_book():
        taken = autocommit().execute(TAKE_SEAT, (course(),)).rowcount == 1
        return jsonify(confirmed=taken), 201

    @app.get("/list")
    def bare_list():
        rows = autocommit().execute(LIST_COURSES).fetchall()
        return jsonify([{"id": r[0], "seats_left": r[1]} for r in rows])

    @app.get("/row")
    def bare_row():
        found = autocommit().execute(READ_COURSE, (course(),)).fetchone()
        return jsonify(id=found[0], capacity=found[1], confirmed=found[2])

    @app.get("/card")
    def bare_card():
        found = autocommit().execute(READ_COURSE, (course(),)).fetchone()
        code = signing_key.sign(f"{found[0]}.{uuid.uuid4().hex}.{int(time.time()) + 60}".encode())
        return jsonify(token=base64.urlsafe_b64encode(code).decode(), expires_in=60)

    @app.post("/token")
    def bare_token():
        now = int(time.time())
        subject = "wx:bare-" + uuid.uuid4().hex[:20]
        claims = {"iss": "bare", "aud": "unionhub", "sub": subject, "iat": now, "exp": now + 900}
        return jsonify(access_token=signed(claims), member_id=None)

    @app.post("/redeem")
    def bare_redeem():
        body = request.get_json()
        if not client.set(f"bare:nonce:{body['nonce']}", 1, nx=True, ex=NONCE_TTL_SECONDS):
            return jsonify(code="card_token.used"), 409
        redemption_id = str(uuid.uuid4())
        autocommit().execute(
            INSERT_REDEMPTION, (redemption_id, body["nonce"], body["store_id"], body["amount_fen"])
        )
        return jsonify(id=redemption_id), 201

    @app.get("/geo")
    def bare_geo():
        found = client.geosearch(
            GEO_KEY,
            longitude=float(request.args["lng"]),
            latitude=float(request.args["lat"]),
            radius=int(request.args.get("radius_m", 5000)),
            unit="m",
            sort="ASC",
            withdist=True,
        )
        return jsonify([{"id": m.decode(), "distance_m": round(d)} for m, d in found[:GEO_LIMIT]])

    return app
