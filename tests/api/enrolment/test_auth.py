"""Logging in: staff with passwords, workers with the wx.login code; EdDSA JWTs anyone can verify
with the published JWKS; staff accounts created by admins; rate limits in Redis."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common.auth import AUDIENCE
from services.enrolment import tables as et
from services.fakes import wechat as fake_wechat
from tests.api.enrolment.conftest import EnrolmentApi
from tests.support import ADMIN_PASSWORD, PROBLEM, STAFF_PASSWORD, bearer, wx_code


def _verify_with_jwks(client, token: str) -> dict:
    """Verify a token the way another service does: only with the public JWKS document."""
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    keys = {k["kid"]: jwt.PyJWK(k) for k in jwks.get_json()["keys"]}
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    return jwt.decode(
        token, keys[header["kid"]].key, algorithms=["EdDSA"], audience=AUDIENCE, issuer="unionhub-enrolment"
    )


# --- staff ------------------------------------------------------------------------------------


def test_staff_login_issues_an_eddsa_jwt_that_verifies_with_the_published_jwks(api, client):
    response = client.post("/api/v1/auth/staff/login", json={"username": "admin", "password": ADMIN_PASSWORD})

    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    claims = _verify_with_jwks(client, body["access_token"])
    assert claims["sub"].startswith("staff:")
    assert claims["roles"] == ["admin"]
    assert claims["units"] == [api.root_id()]


def test_the_jwks_publishes_only_public_ed25519_keys(client):
    jwks = client.get("/.well-known/jwks.json")
    (key,) = jwks.get_json()["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert "d" not in key  # no private part
    assert "max-age" in jwks.headers["Cache-Control"]


@pytest.mark.parametrize("ttl", [120, 900])
def test_access_tokens_live_exactly_the_configured_ttl(make_app, ttl):
    app = make_app(access_token_ttl=ttl)
    api = EnrolmentApi(app.test_client(), app)
    response = api.client.post(
        "/api/v1/auth/staff/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    claims = _verify_with_jwks(api.client, response.get_json()["access_token"])
    assert claims["exp"] - claims["iat"] == ttl
    assert response.get_json()["expires_in"] == ttl
    worker_claims = _verify_with_jwks(api.client, api.wechat().token)
    assert worker_claims["exp"] - worker_claims["iat"] == ttl


@pytest.mark.parametrize("username, password", [("admin", "wrong-password"), ("nobody", "whatever-password")])
def test_a_wrong_password_or_unknown_user_is_401_in_the_same_words(client, username, password):
    response = client.post(
        "/api/v1/auth/staff/login",
        json={"username": username, "password": password},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.get_json()["code"] == "login.failed"
    assert response.get_json()["detail"] == "Wrong username or password."


def test_a_staff_login_sent_again_with_its_idempotency_key_is_answered_the_same_login(api, tree):
    body = {
        "username": "till-retried",
        "password": STAFF_PASSWORD,
        "roles": ["till"],
        "unit_id": tree.a1["id"],
    }
    headers = {**tree.fed_admin, "Idempotency-Key": "till-login:m-1:till-retried"}

    first = api.client.post("/api/v1/staff", json=body, headers=headers)
    again = api.client.post("/api/v1/staff", json=body, headers=headers)
    unkeyed = api.client.post("/api/v1/staff", json=body, headers=tree.fed_admin)
    changed = api.client.post("/api/v1/staff", json={**body, "password": "another-password"}, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert (unkeyed.status_code, unkeyed.get_json()["code"]) == (409, "staff.username_taken")
    assert (changed.status_code, changed.get_json()["code"]) == (409, "idempotency_key_reused")
    assert len(api.rows(et.staff, et.staff.c.username == "till-retried")) == 1


def test_a_username_with_a_final_newline_is_refused_by_field_and_creates_nothing(api, tree):
    body = {"username": "till-" + "x" * 59 + "\n", "password": STAFF_PASSWORD, "roles": ["till"]}

    refused = api.client.post("/api/v1/staff", json=body, headers=tree.fed_admin)

    assert refused.status_code == 422  # it was a 500 on PostgreSQL: 65 characters in String(64)
    assert [e["field"] for e in refused.get_json()["errors"]] == ["username"]
    assert api.rows(et.staff, et.staff.c.username.startswith("till-x")) == []


def test_a_federation_admin_creates_staff_whose_tokens_carry_roles_and_scopes(api, tree):
    till = api.client.post(
        "/api/v1/staff",
        json={
            "username": "till-guanshanhu",
            "password": STAFF_PASSWORD,
            "roles": ["till"],
            "merchant_id": "merchant-7",
            "store_ids": ["store-1", "store-2"],
        },
        headers=tree.fed_admin,  # till and station claims: federation admins only
    )
    coordinator = api.client.post(
        "/api/v1/staff",
        json={
            "username": "coord-1",
            "password": STAFF_PASSWORD,
            "roles": ["coordinator"],
            "station_ids": ["st-9"],
        },
        headers=tree.fed_admin,  # till and station claims: federation admins only
    )
    assert till.status_code == 201 and coordinator.status_code == 201

    till_claims = _verify_with_jwks(api.client, api.login("till-guanshanhu", STAFF_PASSWORD))
    assert till_claims["roles"] == ["till"]
    assert till_claims["merchant_id"] == "merchant-7"
    assert till_claims["store_ids"] == ["store-1", "store-2"]
    assert "units" not in till_claims
    coord_claims = _verify_with_jwks(api.client, api.login("coord-1", STAFF_PASSWORD))
    assert (coord_claims["roles"], coord_claims["station_ids"]) == (["coordinator"], ["st-9"])
    admin_claims = _verify_with_jwks(api.client, api.login("city-a-admin", STAFF_PASSWORD))
    assert admin_claims["units"] == [tree.city_a["id"]]
    # Passwords are stored as argon2 hashes, never in clear.
    (row,) = api.rows(et.staff, et.staff.c.username == "till-guanshanhu")
    assert row.password_hash.startswith("$argon2") and STAFF_PASSWORD not in row.password_hash


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"username": "admin", "roles": ["till"]}, 409, "staff.username_taken"),
        ({"username": "new-admin", "roles": ["admin"]}, 422, "staff.unit_required"),
        ({"username": "short-pw", "roles": ["till"], "password": "short"}, 422, "validation_failed"),
        ({"username": "bad role", "roles": ["root"]}, 422, "validation_failed"),
        # Longer than the column: a 500 on PostgreSQL before it was refused here.
        ({"username": "long-merchant", "roles": ["till"], "merchant_id": "m" * 37}, 422, "validation_failed"),
    ],
)
def test_bad_staff_accounts_are_refused(api, tree, body, status, code):
    before = api.count(et.staff)
    response = api.client.post(
        "/api/v1/staff", json={"password": STAFF_PASSWORD, **body}, headers=tree.fed_admin
    )
    assert response.status_code == status
    assert response.get_json()["code"] == code
    assert api.count(et.staff) == before


def test_an_admin_cannot_create_an_admin_above_or_beside_their_subtree(api, tree):
    for unit_id in (tree.root["id"], tree.city_b["id"], tree.b1["id"]):
        response = api.client.post(
            "/api/v1/staff",
            json={
                "username": f"x-{unit_id[:8]}",
                "password": STAFF_PASSWORD,
                "roles": ["admin"],
                "unit_id": unit_id,
            },
            headers=tree.city_a_admin,
        )
        assert response.status_code == 404, unit_id
    # ...but may create one for a branch inside it.
    assert api.staff(tree.city_a_admin, "a1-second", unit_id=tree.a1["id"])


def test_a_staff_login_is_rate_limited_with_retry_after(make_app):
    app = make_app(login_limit_per_minute=3)
    client = app.test_client()
    for _ in range(3):
        wrong = client.post("/api/v1/auth/staff/login", json={"username": "admin", "password": "nope-nope"})
        assert wrong.status_code == 401

    # Past the limit even the right password is refused, until the window ends.
    response = client.post("/api/v1/auth/staff/login", json={"username": "admin", "password": ADMIN_PASSWORD})

    assert response.status_code == 429
    assert response.mimetype == PROBLEM
    assert response.get_json()["code"] == "too_many_requests"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_the_login_limit_per_address_cannot_be_dodged_with_a_forged_forwarded_for(make_app):
    # Behind the gateway nginx appends the address it saw to whatever X-Forwarded-For the client
    # sent, so only the last entry is trustworthy; a fresh made-up first entry must not reset the count.
    app = make_app(login_limit_per_minute=2)  # WeChat logins: 6 × 2 = 12 a minute per address
    client = app.test_client()
    statuses = [
        client.post(
            "/api/v1/auth/wechat",
            json={"code": wx_code()},
            headers={"X-Forwarded-For": f"198.51.100.{i}, 203.0.113.7"},
        ).status_code
        for i in range(14)
    ]
    assert statuses == [200] * 12 + [429] * 2


# --- workers ----------------------------------------------------------------------------------


def test_a_wechat_login_calls_code2session_and_issues_a_member_token(api, client):
    code = wx_code()
    response = client.post("/api/v1/auth/wechat", json={"code": code})

    assert response.status_code == 200
    body = response.get_json()
    assert body["member_id"] is None
    claims = _verify_with_jwks(client, body["access_token"])
    assert claims["sub"] == f"wx:{fake_wechat.openid_for(code)}"
    assert claims["roles"] == ["member"]
    assert "member_id" not in claims


@pytest.mark.parametrize("code", ["invalid", "used"])
def test_a_code_wechat_refuses_is_422_on_the_code_field(client, code):
    response = client.post("/api/v1/auth/wechat", json={"code": code}, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "code", "code": "wechat.code_invalid", "message": "WeChat login failed. Please try again."}
    ]


def test_wechat_unreachable_is_503(make_app):
    app = make_app(wechat_code2session_url="http://127.0.0.1:9/sns/jscode2session")
    response = app.test_client().post("/api/v1/auth/wechat", json={"code": wx_code()})
    assert response.status_code == 503
    assert response.get_json()["code"] == "wechat.unavailable"


def test_wechat_logins_are_rate_limited_per_address(make_app):
    app = make_app(login_limit_per_minute=1)  # WeChat logins get six times the staff limit
    client = app.test_client()
    statuses = [client.post("/api/v1/auth/wechat", json={"code": wx_code()}).status_code for _ in range(7)]
    assert statuses == [200] * 6 + [429]


# --- tokens the API refuses -------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers, code",
    [
        ({}, "unauthorized"),
        ({"Authorization": "Basic YWRtaW46YWRtaW4="}, "unauthorized"),
        (bearer("not-a-jwt"), "token_invalid"),
    ],
)
def test_a_missing_or_unreadable_token_is_401(client, headers, code):
    response = client.get("/api/v1/members", headers=headers)
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.get_json()["code"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_signed_by_another_key_or_expired_is_401(app, client):
    kid = app.extensions["enrolment"].secrets.signing_keys[0].kid
    claims = {"iss": "unionhub-enrolment", "aud": AUDIENCE, "sub": "staff:x", "roles": ["admin"]}
    now = int(time.time())
    forged = jwt.encode(
        {**claims, "iat": now, "exp": now + 60},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": kid},
    )
    assert client.get("/api/v1/members", headers=bearer(forged)).status_code == 401

    key = app.extensions["enrolment"].secrets.signing_keys[0].private_key
    expired = jwt.encode(
        {**claims, "iat": now - 120, "exp": now - 60}, key, algorithm="EdDSA", headers={"kid": kid}
    )
    response = client.get("/api/v1/members", headers=bearer(expired))
    assert response.status_code == 401 and response.get_json()["code"] == "token_invalid"
