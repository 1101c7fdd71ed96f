"""The fuzz bed: every built service in-process on its own SQLite file, the fakes of outside systems
over real HTTP, one login per role, and a small seeded tree whose real ids the fuzzer mixes into its
inputs.

Enrolment issues every token, so it is built first and doubles as the identity provider; any other
service verifies those tokens against enrolment's JWKS, served over HTTP as in production.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import schemathesis
from flask import Flask, json

from services.registry import SERVICES
from tests.support import ADMIN_PASSWORD, STAFF_PASSWORD, every_service, fresh_postgres_database, resident_id

log = logging.getLogger(__name__)

# Least destructive first, all on one database per service: the admin (suspending, revoking,
# transferring) and the member (erasing their own data) would otherwise spoil the seed for the roles
# after them.
ROLES = ("anonymous", "wechat", "till", "coordinator", "member", "admin")

# Login and join limits are raised so that inputs past the first few reach the code behind them;
# the limits themselves are covered by the API tests.
FUZZ_SETTINGS = {
    "enrolment": {
        "admin_password": ADMIN_PASSWORD,
        "login_limit_per_minute": 100_000,
        "join_limit_per_hour": 100_000,
        "sms_limit_per_hour": 100_000,
        "access_token_ttl": 3600,  # tokens are minted before the run and must outlive it
    },
}

# "postgresql": every service on a fresh PostgreSQL database instead of its SQLite file. PostgreSQL
# refuses what SQLite stores (U+0000 in text, an INTEGER past 2^31 - 1, a string past its column's
# length), so deploy/local/test.sh fuzzes on both.
DATABASE = "UNIONHUB_FUZZ_DATABASE"

Value = str | Callable[[], str]


@dataclass
class Bed:
    apps: dict[str, Flask] = field(default_factory=dict)
    schemas: dict[str, object] = field(default_factory=dict)
    headers: dict[str, dict] = field(default_factory=dict)  # role → its Authorization header
    missing: dict[str, str] = field(default_factory=dict)  # role → why it could not be seeded
    values: dict[str, list[Value]] = field(default_factory=dict)  # field name → real values
    notes: list[str] = field(default_factory=list)  # what the seed had to work around

    def add(self, name: str, *values: Value) -> None:
        self.values.setdefault(name, []).extend(values)


@contextmanager
def fuzz_bed(directory) -> Iterator[Bed]:
    """Build every service of the registry, log each role in and seed the tree; yields the ``Bed``."""
    with ExitStack() as stack:
        settings = {name: dict(FUZZ_SETTINGS.get(name, {})) for name in SERVICES}
        if os.environ.get(DATABASE) == "postgresql":
            for name in SERVICES:
                settings[name]["database_url"] = stack.enter_context(fresh_postgres_database(f"fuzz_{name}"))
        apps = stack.enter_context(every_service(directory, settings))
        bed = Bed(apps=apps)
        seed_identities(bed, apps["enrolment"])
        for name, app in apps.items():
            bed.schemas[name] = schemathesis.openapi.from_wsgi("/openapi.json", app)
        yield bed


# --- enrolment: the roles and the tree ---------------------------------------------------------------


def seed_identities(bed: Bed, app: Flask) -> None:
    """federation ── city ─┬─ open branch     ─ campaign ─ members "member" and "other" (active)
                           └─ approval branch ─ campaign ─ member "pending"
    plus till staff, a station coordinator, and a WeChat user who has not joined."""
    from tests.api.enrolment.conftest import EnrolmentApi

    api = EnrolmentApi(app.test_client(), app)
    admin = api.admin()
    root = api.root_id()
    city = api.unit(admin, "贵阳市总工会", parent_id=root, kind="city")
    branch = api.unit(admin, "贵阳市顺丰分会", parent_id=city["id"])
    approval = api.unit(admin, "贵阳市美团分会", parent_id=city["id"], requires_approval=True)
    campaigns = [
        api.campaign(admin, branch["id"]),
        api.campaign(admin, approval["id"], site="云岩区骑手之家"),
    ]
    bed.headers["anonymous"] = {}
    bed.headers["admin"] = admin
    bed.headers["till"] = api.staff(
        admin, "fuzz-till", roles=("till",), merchant_id="merchant-1", store_ids=["store-1"]
    )
    bed.headers["coordinator"] = api.staff(
        admin, "fuzz-coordinator", roles=("coordinator",), station_ids=["station-1"]
    )
    bed.headers["wechat"] = api.wechat().headers

    bed.add("unit_id", root, city["id"], branch["id"], approval["id"])
    bed.add("branch_id", branch["id"], approval["id"], city["id"])
    bed.add("parent_id", root, city["id"], branch["id"])
    bed.add("campaign_id", *(c["id"] for c in campaigns))
    bed.add("campaign_code", *(c["code"] for c in campaigns))
    bed.add("code", *(c["code"] for c in campaigns))
    # Valid by the rules the schema cannot state (check characters, mobile prefixes), so joins
    # and SMS codes get past validation into the use cases.
    bed.add("id_number", resident_id(), resident_id())
    bed.add("mobile", "13812345678", "13912345678")
    bed.add("username", "admin", "fuzz-till", "fuzz-coordinator")
    bed.add("password", ADMIN_PASSWORD, STAFF_PASSWORD)

    members = {}
    for label, campaign in (("member", campaigns[0]), ("other", campaigns[0]), ("pending", campaigns[1])):
        try:
            members[label] = _member(api, app, campaign["code"], bed)
        except Exception as error:  # the seed must not hide every other role's results
            bed.missing["member"] = f"no member could be seeded ({error.__class__.__name__}: {error})"
            log.warning("fuzz: %s", bed.missing["member"])
            break
    if "member" in members:
        bed.headers["member"] = members["member"].headers
        bed.add("member_id", *(m.member_id for m in members.values()))
        bed.add("token", _card_code(app, members["member"].headers))


def _member(api, app: Flask, campaign_code: str, bed: Bed):
    """A joined member through POST /join as the mini-app does; failing that (the join flow is
    changing), written through the repository so the member's operations are still fuzzed."""
    response, worker = api.join(campaign_code)
    if response.status_code == 201:
        return worker
    note = f"POST /api/v1/join answered {response.status_code} to the seed; members written directly"
    if note not in bed.notes:
        bed.notes.append(note)
    _write_member(app, campaign_code, openid=worker.openid)
    login = api.post(api.wechat_login_path, {"code": worker.code})
    worker.token, worker.member_id = login["access_token"], login["member_id"]
    assert worker.member_id, "the member written through the repository is not found by its login"
    return worker


def _write_member(app: Flask, campaign_code: str, *, openid: str) -> None:
    from schemas import mobile as mobile_rules
    from schemas import resident_id as resident_ids
    from services.common.clock import local_day, now
    from services.enrolment import model, pii, repository
    from services.enrolment.card_number import format_card_number
    from services.enrolment.model import Member

    e = app.extensions["enrolment"]
    province = e.settings.card_province
    with app.extensions["unionhub"].db.unit_of_work() as uow:
        conn = uow.connection
        campaign = repository.campaign_by_code(conn, campaign_code)
        unit = repository.unit(conn, campaign.unit_id)
        person = resident_ids.parse(resident_id())
        member = Member(
            id=str(uuid.uuid4()),
            unit_id=unit.id,
            status=model.join_status(unit),
            card_no=format_card_number(province, repository.next_card_serial(conn, province)),
            campaign_id=campaign.id,
            employer="顺丰速运",
            occupation="快递员",
            joined_at=now(),
        )
        aad = member.id.encode()
        mobile = "13812345678"
        personal = {
            "name": "张三",
            "mobile_enc": pii.encrypt(e.pii_keys.pii, mobile, associated_data=aad),
            "mobile_masked": mobile_rules.mask(mobile),
            "id_number_enc": pii.encrypt(e.pii_keys.pii, person.number, associated_data=aad),
            "id_number_masked": resident_ids.mask(person.number),
            "id_hash": pii.blind_index(e.pii_keys.pii_hash_key, person.number),
            "openid": openid,
            "birth_date": person.birth_date,
            "sex": person.sex,
        }
        repository.add_member(conn, member, personal, consent_version=e.settings.consent_version)
        repository.count_join(conn, campaign.id, local_day(member.joined_at))
        uow.commit()


def _card_code(app: Flask, headers: dict) -> Callable[[], str]:
    """A fresh card code for the till to redeem: each is accepted once and lives a minute."""
    client = app.test_client()

    def fresh() -> str:
        response = client.get("/api/v1/members/me/card/token", headers=headers)
        if response.status_code != 200:
            return "no-card-code"
        return json.loads(response.data)["token"]

    return fresh
