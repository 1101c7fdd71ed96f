"""Enrolment's use cases on a SQLite file, with an in-memory Redis and the in-memory bus.

No server is needed: this is the fast tier that a new service's use-case tests copy. The same
behaviour through HTTP, Redis and PostgreSQL is tested in tests/api/enrolment and tests/integration.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import fakeredis
import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import MetaData, func, select

from events.dispatch import Dispatcher
from events.memory import InMemoryBus
from schemas.events import members as member_events
from schemas.resident_id import compute_check_char
from services.common import migrations
from services.common.auth import TokenVerifier
from services.common.db import Database
from services.common.domain import Conflict, Forbidden, Gone, Invalid, NotFound, RateLimited, Unavailable
from services.common.idempotency import IdempotentRequest
from services.common.kit import database
from services.enrolment import accounts, disputes, joining, membership, pii, service, tables
from services.enrolment.funnel import Funnel
from services.enrolment.secrets import SigningKey
from services.enrolment.settings import EnrolmentSettings
from services.enrolment.tokens import Issuer

FINGERPRINT_KEY = b"f" * 32
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch):
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def db(tmp_path) -> Database:
    settings = EnrolmentSettings(service="enrolment", database_url=f"sqlite:///{tmp_path}/enrolment.db")
    migrations.upgrade("enrolment", settings)
    db = database("enrolment", settings)
    yield db
    db.engine.dispose()


@pytest.fixture
def redis():
    return fakeredis.FakeRedis()


def uow(db: Database):
    return db.unit_of_work(traceparent=TRACEPARENT, request_id="req-1")


@pytest.fixture
def tree(db):
    """federation ─ city ─┬─ branch (open) ─ campaign
    └─ approval branch (requires approval)"""
    with db.unit_of_work() as u:
        root = service.ensure_root(u.connection, "贵州省总工会")
        u.commit()
    city = service.create_unit(
        uow(db), [root.id], name="贵阳市总工会", parent_id=root.id, kind="city", requires_approval=False
    )
    branch = service.create_unit(
        uow(db), [root.id], name="贵阳市顺丰分会", parent_id=city.id, kind="branch", requires_approval=False
    )
    strict = service.create_unit(
        uow(db), [root.id], name="贵阳市美团分会", parent_id=city.id, kind="branch", requires_approval=True
    )
    campaign = service.create_campaign(
        uow(db), [root.id], actor="test", branch_id=branch.id, name="扫码入会", site=None, expires_at=None
    )
    return {"root": root, "city": city, "branch": branch, "strict": strict, "campaign": campaign}


class StubProvider:
    """The identity provider as use cases see it: a name in MISMATCH is not the ID number's owner,
    ``down`` makes every call fail, and texts are kept (the newest last)."""

    MISMATCH = "李鬼"

    def __init__(self):
        self.texts: list[tuple[str, str]] = []
        self.down = False

    def verify(self, name: str, id_number: str) -> None:
        if self.down:
            raise Unavailable("identity.unavailable")
        if name == self.MISMATCH:
            raise Invalid("identity.mismatch", field="id_number")

    def send_sms(self, mobile: str, text: str) -> None:
        self.texts.append((mobile, text))

    def code_sent_to(self, mobile: str) -> str:
        return re.search(r"\d{6}", next(t for m, t in reversed(self.texts) if m == mobile)).group()


PROVIDER = StubProvider()
RULES = joining.JoinRules(
    pii_keys=service.PiiKeys(pii.KeyRing({"k1": b"k" * 32}, "k1"), b"h" * 32),
    province="52",
    consent_version="2026-01",
    limit_per_hour=3,
    verification=joining.Verification(PROVIDER, sms_limit_per_hour=100),
)


@pytest.fixture(autouse=True)
def provider_up():
    PROVIDER.down = False
    yield PROVIDER
    PROVIDER.down = False


def resident_id(n: int) -> str:
    first17 = f"520102{date(1990, 3, 7):%Y%m%d}{n:02d}1"
    return first17 + compute_check_char(first17)


def form(campaign, n: int = 1, **overrides) -> joining.JoinForm:
    values = dict(
        campaign_code=campaign.code,
        name="张三",
        mobile="13800138000",
        sms_code="000000",
        id_number=resident_id(n),
        employer="顺丰速运",
        occupation="快递员",
        consent=True,
    )
    values.update(overrides)
    return joining.JoinForm(**values)


def verified(redis, campaign, n: int = 1, *, openid: str = "o-1", **overrides) -> joining.JoinForm:
    """A join form with the code the stub provider texted to its mobile for this openid."""
    mobile = overrides.get("mobile", "13800138000")
    joining.send_join_code(redis, openid=openid, mobile=mobile, rules=RULES)
    return form(campaign, n, sms_code=PROVIDER.code_sent_to(mobile), **overrides)


def no_key(openid: str = "o-1") -> IdempotentRequest:
    return IdempotentRequest.of(tables.idempotency_keys, f"join:{openid}", None, {}, secret=FINGERPRINT_KEY)


def outbox(db: Database) -> list:
    with db.engine.connect() as conn:
        return conn.execute(select(db.outbox).order_by(db.outbox.c.seq)).all()


def count(db: Database, table) -> int:
    with db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# --- units and campaigns --------------------------------------------------------------------------


def test_an_admin_creates_units_only_inside_their_subtree(db, tree):
    city_admin = [tree["city"].id]
    unit = service.create_unit(
        uow(db), city_admin, name="贵阳市京东分会", parent_id=None, kind="branch", requires_approval=False
    )
    assert unit.parent_id == tree["city"].id  # by default under the admin's own unit
    assert unit.path == f"{tree['city'].path}{unit.id}/"
    with pytest.raises(NotFound):
        service.create_unit(
            uow(db), [tree["branch"].id], name="x", parent_id=tree["city"].id, kind="branch",
            requires_approval=False,
        )  # fmt: skip
    with pytest.raises(Forbidden):
        service.create_unit(
            uow(db), city_admin, name="x", parent_id=tree["branch"].id, kind="branch", requires_approval=False
        )


def test_a_scan_counts_in_the_funnel_and_a_revoked_campaign_is_gone(db, tree, redis):
    campaign, unit = service.scan(uow(db), Funnel(redis), tree["campaign"].code, scanner="10.0.0.1")
    assert (campaign.id, unit.name) == (tree["campaign"].id, "贵阳市顺丰分会")
    stats = service.campaign_stats(uow(db), Funnel(redis), [tree["root"].id], campaign.id)
    assert (stats["scans"], stats["unique_scans"], stats["joins"], stats["conversion"]) == (1, 1, 0, 0.0)

    service.revoke_campaign(uow(db), [tree["root"].id], campaign.id)
    with pytest.raises(Gone) as gone:
        service.scan(uow(db), Funnel(redis), campaign.code, scanner="10.0.0.1")
    assert gone.value.code == "campaign.revoked"
    with pytest.raises(Conflict):
        service.campaign_for_poster(uow(db), [tree["root"].id], campaign.id)


def test_reloading_the_join_page_cannot_inflate_the_scan_figures(db, tree, redis):
    code = tree["campaign"].code
    for _ in range(200):  # one anonymous source reloading
        service.scan(uow(db), Funnel(redis), code, scanner="10.0.0.9")
    for n in range(5):  # five couriers
        service.scan(uow(db), Funnel(redis), code, scanner=f"10.0.1.{n}")

    stats = service.campaign_stats(uow(db), Funnel(redis), [tree["root"].id], tree["campaign"].id)
    assert stats["unique_scans"] == 6
    assert stats["scans"] == service.SCANS_PER_SOURCE_PER_HOUR + 5  # the reloads count up to the bound


# --- joining --------------------------------------------------------------------------------------


def test_a_join_records_the_member_and_its_event_with_the_requests_trace(db, tree, redis):
    application = verified(redis, tree["campaign"])
    result = joining.join(uow(db), redis, application, openid="o-1", rules=RULES, request=no_key())

    assert result["status"] == "active"
    assert result["card_no"].startswith("GH52")  # the province code follows the prefix
    rows = outbox(db)
    assert [r.type for r in rows] == [member_events.JOINED]
    assert rows[0].key == result["member_id"]
    assert TRACEPARENT in rows[0].headers
    stats = service.campaign_stats(uow(db), Funnel(redis), [tree["root"].id], tree["campaign"].id)
    assert (stats["joins_started"], stats["joins"]) == (1, 1)


def test_the_same_wechat_user_joining_again_is_told_their_branch_and_nothing_is_written(db, tree, redis):
    joining.join(
        uow(db), redis, verified(redis, tree["campaign"]), openid="o-1", rules=RULES, request=no_key()
    )
    before = (count(db, tables.members), len(outbox(db)), count(db, tables.disputes))

    with pytest.raises(Conflict) as error:  # refused before the code is checked: no code needed
        joining.join(uow(db), redis, form(tree["campaign"], 2), openid="o-1", rules=RULES, request=no_key())
    assert error.value.code == "member.already_joined"
    assert error.value.params["branch"] == "贵阳市顺丰分会"
    assert (count(db, tables.members), len(outbox(db)), count(db, tables.disputes)) == before


def test_another_wechat_user_on_a_held_id_number_opens_a_dispute_and_is_told_no_branch(db, tree, redis):
    joining.join(
        uow(db), redis, verified(redis, tree["campaign"]), openid="o-1", rules=RULES, request=no_key()
    )
    before = (count(db, tables.members), len(outbox(db)))

    with pytest.raises(Conflict) as error:
        claim = verified(redis, tree["campaign"], openid="o-2", name="张三")
        joining.join(uow(db), redis, claim, openid="o-2", rules=RULES, request=no_key("o-2"))
    assert error.value.code == "member.identity_disputed" and error.value.params == {}
    assert (count(db, tables.members), len(outbox(db))) == before
    with db.engine.connect() as conn:
        (dispute,) = disputes.disputes(conn, [tree["root"].id])
    assert (dispute["status"], dispute["claimant_name"], dispute["claimant_mobile_masked"]) == (
        "open", "张*", "138****8000",
    )  # fmt: skip


def test_a_mismatched_name_or_a_wrong_code_creates_nothing_and_the_provider_down_is_unavailable(
    db, tree, redis, provider_up
):
    with pytest.raises(Invalid) as mismatch:
        claim = verified(redis, tree["campaign"], name=StubProvider.MISMATCH)
        joining.join(uow(db), redis, claim, openid="o-1", rules=RULES, request=no_key())
    assert (mismatch.value.code, mismatch.value.field) == ("identity.mismatch", "id_number")
    with pytest.raises(Invalid) as wrong:
        joining.join(uow(db), redis, form(tree["campaign"]), openid="o-1", rules=RULES, request=no_key())
    assert (wrong.value.code, wrong.value.field) == ("sms.code_invalid", "sms_code")
    provider_up.down = True
    with pytest.raises(Unavailable):
        claim = verified(redis, tree["campaign"])
        joining.join(uow(db), redis, claim, openid="o-1", rules=RULES, request=no_key())
    assert count(db, tables.members) == 0 and outbox(db) == []


def test_redis_down_at_the_code_check_fails_closed(db, tree):
    server = fakeredis.FakeServer()
    client = fakeredis.FakeRedis(server=server)
    claim = verified(client, tree["campaign"])
    rules = replace(RULES, limit_per_hour=10**6)
    server.connected = False

    with pytest.raises(Unavailable):
        joining.join(uow(db), client, claim, openid="o-1", rules=rules, request=no_key())
    assert count(db, tables.members) == 0 and outbox(db) == []


def test_resolving_a_dispute_moves_the_membership_and_records_reassigned(db, tree, redis):
    held = joining.join(
        uow(db), redis, verified(redis, tree["campaign"]), openid="o-1", rules=RULES, request=no_key()
    )
    with pytest.raises(Conflict):
        claim = verified(redis, tree["campaign"], openid="o-2", name="李四", mobile="13900139000")
        joining.join(uow(db), redis, claim, openid="o-2", rules=RULES, request=no_key("o-2"))
    with db.engine.connect() as conn:
        (listed,) = disputes.disputes(conn, [tree["root"].id])
        assert disputes.disputes(conn, [tree["strict"].id]) == []  # another branch's admin sees nothing
    with pytest.raises(NotFound):
        disputes.resolve(
            uow(db), [tree["strict"].id], listed["id"], "move", actor="staff:x", pii_keys=RULES.pii_keys
        )

    moved = disputes.resolve(
        uow(db), [tree["city"].id], listed["id"], "move", actor="staff:1", pii_keys=RULES.pii_keys
    )

    assert (moved.status, moved.member_id) == ("moved", held["member_id"])
    assert outbox(db)[-1].type == member_events.REASSIGNED
    with db.engine.connect() as conn:
        row = conn.execute(select(tables.members)).one()
        audit = conn.execute(select(tables.audit_log)).one()
    assert (row.openid, row.name, row.mobile_masked) == (
        "o-2",
        "李四",
        "139****9000",
    )
    assert pii.decrypt(RULES.pii_keys.pii, row.mobile_enc, associated_data=row.id.encode()) == "13900139000"
    assert (audit.action, audit.member_id, audit.request_id) == ("dispute_move", held["member_id"], "req-1")
    with pytest.raises(Conflict):
        disputes.resolve(
            uow(db), [tree["city"].id], listed["id"], "keep", actor="staff:1", pii_keys=RULES.pii_keys
        )


def test_a_retry_with_the_same_key_gets_the_first_answer_and_a_changed_body_is_refused(db, tree, redis):
    body = {"campaign_code": tree["campaign"].code}
    first = IdempotentRequest.of(tables.idempotency_keys, "join:o-1", "key-1", body, secret=FINGERPRINT_KEY)
    application = verified(redis, tree["campaign"])
    answer = joining.join(uow(db), redis, application, openid="o-1", rules=RULES, request=first)
    again = joining.join(uow(db), redis, application, openid="o-1", rules=RULES, request=first)

    assert again == answer
    assert count(db, tables.members) == 1
    changed = IdempotentRequest.of(
        tables.idempotency_keys, "join:o-1", "key-1", {**body, "name": "李四"}, secret=FINGERPRINT_KEY
    )
    with pytest.raises(Conflict) as error:
        joining.join(uow(db), redis, form(tree["campaign"]), openid="o-1", rules=RULES, request=changed)
    assert error.value.code == "idempotency_key_reused"


def test_joining_needs_consent_and_a_branch_that_approves_leaves_the_member_pending(db, tree, redis):
    with pytest.raises(Invalid) as error:
        joining.join(
            uow(db), redis, form(tree["campaign"], consent=False), openid="o-1", rules=RULES, request=no_key()
        )
    assert (error.value.code, error.value.field) == ("consent.required", "consent")

    strict = service.create_campaign(
        uow(db), [tree["root"].id], actor="t", branch_id=tree["strict"].id, name="审批", site=None,
        expires_at=None,
    )  # fmt: skip
    application = verified(redis, strict, 2, openid="o-2")
    result = joining.join(uow(db), redis, application, openid="o-2", rules=RULES, request=no_key("o-2"))
    assert result["status"] == "pending"


def test_joins_past_the_hourly_limit_are_refused_before_anything_is_written(db, tree, redis):
    for n in range(RULES.limit_per_hour):  # refused joins count as attempts too
        with pytest.raises(Invalid):
            joining.join(
                uow(db), redis, form(tree["campaign"], n, consent=False), openid="o-1", rules=RULES,
                request=no_key(),
            )  # fmt: skip
    with pytest.raises(RateLimited):
        joining.join(uow(db), redis, form(tree["campaign"], 9), openid="o-1", rules=RULES, request=no_key())
    assert count(db, tables.members) == 0
    assert outbox(db) == []


# --- a member's life ------------------------------------------------------------------------------


def joined(db, tree, redis, n: int = 1) -> str:
    openid = f"o-{n}"
    application = verified(redis, tree["campaign"], n, openid=openid)
    result = joining.join(uow(db), redis, application, openid=openid, rules=RULES, request=no_key(openid))
    return result["member_id"]


def test_status_changes_follow_the_rules_and_each_records_its_event(db, tree, redis):
    member_id = joined(db, tree, redis)
    admins = [tree["city"].id]

    assert (
        membership.change_status(uow(db), admins, member_id, "suspend", reason="欠缴会费").status
        == "suspended"
    )
    with pytest.raises(Conflict) as error:
        membership.change_status(uow(db), admins, member_id, "approve")
    assert error.value.code == "member.not_pending"
    assert membership.change_status(uow(db), admins, member_id, "reinstate").status == "active"
    moved = membership.transfer(uow(db), admins, member_id, tree["strict"].id)
    assert moved.unit_id == tree["strict"].id
    with pytest.raises(NotFound):  # an admin of another subtree does not see the member at all
        membership.change_status(uow(db), [tree["branch"].id], member_id, "leave")

    assert [r.type for r in outbox(db)] == [
        member_events.JOINED,
        member_events.SUSPENDED,
        member_events.REINSTATED,
        member_events.TRANSFERRED,
    ]


def test_reading_personal_data_and_erasing_it_are_audited_with_the_request_id(db, tree, redis):
    member_id = joined(db, tree, redis)

    data = membership.personal_data(
        uow(db), [tree["root"].id], member_id, pii_keys=RULES.pii_keys, actor="staff:1"
    )
    assert (data["mobile"], data["id_number"]) == ("13800138000", resident_id(1))
    membership.erase(uow(db), member_id, subject="wx:o-1")

    with db.engine.connect() as conn:
        audit = conn.execute(select(tables.audit_log).order_by(tables.audit_log.c.id)).all()
        row = conn.execute(select(tables.members)).one()
    assert [(a.action, a.request_id) for a in audit] == [("read_personal_data", "req-1"), ("erase", "req-1")]
    assert (row.status, row.name, row.id_hash, row.openid) == ("left", None, None, None)
    assert outbox(db)[-1].type == member_events.LEFT
    with pytest.raises(Conflict):
        membership.personal_data(
            uow(db), [tree["root"].id], member_id, pii_keys=RULES.pii_keys, actor="staff:1"
        )


def test_member_events_reach_a_consumer_through_the_in_memory_bus(db, tree, redis, tmp_path):
    member_id = joined(db, tree, redis)
    membership.change_status(uow(db), [tree["root"].id], member_id, "suspend", reason=None)
    courses = Database(f"sqlite:///{tmp_path}/courses.db", MetaData(), source="/unionhub/courses")
    courses.create_all()  # a consumer with nothing but its inbox, enough to see what arrives
    seen = []
    handlers = {
        t: (lambda event, _uow: seen.append((event.type, event.subject))) for t in member_events.SCHEMAS
    }
    bus = InMemoryBus()
    bus.subscribe(Dispatcher("courses", handlers, courses.catalogue, courses.unit_of_work, courses.inbox))

    assert bus.relay(db.engine, db.outbox) == 2
    assert bus.relay(db.engine, db.outbox) == 0  # sent rows are not sent again
    assert seen == [(member_events.JOINED, member_id), (member_events.SUSPENDED, member_id)]
    assert bus.published[0].traceparent == TRACEPARENT
    courses.engine.dispose()


# --- staff ----------------------------------------------------------------------------------------


def test_a_staff_login_created_again_with_its_idempotency_key_is_the_same_login(db, tree):
    account = {"username": "till-1", "password": "pw-123456", "roles": ["till"], "unit_id": tree["city"].id}

    def keyed(body: dict) -> IdempotentRequest:
        return IdempotentRequest.of(
            tables.idempotency_keys, "staff:a:create-staff", "k-1", body, secret=FINGERPRINT_KEY
        )

    made = accounts.create_staff(uow(db), [tree["root"].id], keyed(account), actor="staff:a", **account)
    again = accounts.create_staff(uow(db), [tree["root"].id], keyed(account), actor="staff:a", **account)

    assert again == made
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tables.staff)).scalar_one() == 1
    other = {**account, "password": "another-password"}
    with pytest.raises(Conflict) as error:
        accounts.create_staff(uow(db), [tree["root"].id], keyed(other), actor="staff:a", **other)
    assert error.value.code == "idempotency_key_reused"


def test_a_staff_login_carries_the_accounts_scopes_and_wrong_details_are_one_answer(db, tree, redis):
    accounts.create_staff(
        uow(db), [tree["root"].id], no_key(), actor="t", username="city-admin", password="pw-123456",
        roles=["admin"], unit_id=tree["city"].id,
    )  # fmt: skip
    with pytest.raises(Conflict):
        accounts.create_staff(
            uow(db),
            [tree["root"].id],
            no_key(),
            actor="t",
            username="city-admin",
            password="x",
            roles=["till"],
        )
    issuer = Issuer([SigningKey("k1", Ed25519PrivateKey.generate())], "unionhub-enrolment", 900)
    rules = accounts.LoginRules(issuer, 10, "http://127.0.0.1:9/unused", "app", "secret")

    token, ttl = accounts.log_in_staff(
        uow(db), redis, rules, username="city-admin", password="pw-123456", ip="1.2.3.4"
    )
    caller = TokenVerifier(issuer, "unionhub-enrolment").verify(token)
    assert (ttl, caller.roles, caller.units) == (900, frozenset({"admin"}), (tree["city"].id,))
    for username, password in [("city-admin", "wrong"), ("nobody", "pw-123456")]:
        with pytest.raises(Forbidden) as error:
            accounts.log_in_staff(uow(db), redis, rules, username=username, password=password, ip="1.2.3.4")
        assert error.value.code == "login.failed"
