"""Enrolment's use cases. Each runs in one unit of work: state, audit rows and events commit together."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select, update

from schemas import mobile as mobile_rules
from schemas import resident_id
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Forbidden, Invalid, NotFound

from . import db, model, pii, repository
from .card_number import format_card_number
from .model import Campaign, Member, Unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
_hasher = PasswordHasher()


def local_day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def _emit(uow: UnitOfWork, change: tuple[str, dict], subject: str, traceparent: str | None) -> None:
    event_type, payload = change
    uow.emit(event_type, subject, payload, traceparent=traceparent)


# --- units ------------------------------------------------------------------------------------


def scope_paths(uow: UnitOfWork, unit_ids) -> list[str]:
    return [u.path for u in repository.units_by_ids(uow.connection, unit_ids)]


def unit_in_scope(uow: UnitOfWork, unit_id: str, scopes: list[str]) -> Unit:
    unit = repository.unit(uow.connection, unit_id)
    if unit is None:
        raise NotFound("unit.not_found")
    model.check_scope(unit.path, scopes)
    return unit


def create_unit(
    uow: UnitOfWork, scopes: list[str], *, name: str, parent_id: str, kind: str, requires_approval: bool
) -> Unit:
    parent = unit_in_scope(uow, parent_id, scopes)
    model.check_admin_may_create_child(parent, kind)
    unit_id = str(uuid.uuid4())
    unit = Unit(unit_id, name, kind, parent.id, model.child_path(parent, unit_id), requires_approval)
    repository.add_unit(uow.connection, unit, model.now())
    return unit


def ensure_root(uow: UnitOfWork, name: str) -> Unit:
    root = repository.root_unit(uow.connection)
    if root is None:
        unit_id = str(uuid.uuid4())
        root = Unit(unit_id, name, "federation", None, model.child_path(None, unit_id))
        repository.add_unit(uow.connection, root, model.now())
    return root


# --- campaigns --------------------------------------------------------------------------------


def create_campaign(
    uow: UnitOfWork, scopes: list[str], *, branch_id: str, name: str, site: str | None, expires_at, actor: str
) -> Campaign:
    unit = unit_in_scope(uow, branch_id, scopes)
    model.check_can_join_branch(unit)
    if expires_at is not None:
        expires_at = expires_at.astimezone(UTC)  # stored as UTC: SQLite keeps no offset
        if expires_at <= model.now():
            raise Invalid("campaign.expiry_in_past", field="expires_at")
    campaign = Campaign(
        str(uuid.uuid4()), unit.id, name, site, secrets.token_urlsafe(12), "active", expires_at
    )
    uow.connection.execute(
        db.campaigns.insert().values(
            id=campaign.id,
            unit_id=campaign.unit_id,
            name=name,
            site=site,
            code=campaign.code,
            status="active",
            expires_at=expires_at,
            created_by=actor,
            created_at=model.now(),
        )
    )
    return campaign


def campaign_in_scope(uow: UnitOfWork, campaign_id: str, scopes: list[str]) -> Campaign:
    campaign = repository.campaign(uow.connection, campaign_id)
    if campaign is None:
        raise NotFound("campaign.not_found")
    unit = repository.unit(uow.connection, campaign.unit_id)
    if not model.in_scope(unit.path, scopes):
        raise NotFound("campaign.not_found")
    return campaign


def revoke_campaign(uow: UnitOfWork, campaign_id: str, scopes: list[str]) -> Campaign:
    campaign = campaign_in_scope(uow, campaign_id, scopes)
    if campaign.status != "revoked":
        campaign.status = "revoked"
        uow.connection.execute(
            update(db.campaigns)
            .where(db.campaigns.c.id == campaign.id)
            .values(status="revoked", revoked_at=model.now())
        )
    return campaign


def open_campaign(uow: UnitOfWork, code: str) -> tuple[Campaign, Unit]:
    campaign = repository.campaign_by_code(uow.connection, code)
    if campaign is None:
        raise NotFound("campaign.not_found")
    campaign.check_open(model.now())
    return campaign, repository.unit(uow.connection, campaign.unit_id)


# --- joining ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JoinForm:
    campaign_code: str
    name: str
    mobile: str
    id_number: str
    employer: str
    occupation: str
    consent: bool


@dataclass(frozen=True)
class Keys:
    pii: pii.KeyRing
    pii_hash_key: bytes


def _duplicate(uow: UnitOfWork, existing) -> Conflict:
    unit = repository.unit(uow.connection, existing.unit_id)
    return Conflict("member.already_joined", branch=unit.name, branch_id=unit.id)


def join(
    uow: UnitOfWork,
    form: JoinForm,
    *,
    openid: str,
    keys: Keys,
    province: str,
    consent_version: str,
    traceparent: str | None = None,
) -> Member:
    if not form.consent:
        raise Invalid("consent.required", field="consent")
    campaign, unit = open_campaign(uow, form.campaign_code)
    model.check_can_join_branch(unit)
    person = resident_id.parse(form.id_number)
    id_hash = pii.blind_index(keys.pii_hash_key, person.number)

    existing = repository.current_member(uow.connection, id_hash=id_hash, openid=openid)
    if existing is not None:
        raise _duplicate(uow, existing)

    at = model.now()
    member = Member(
        id=str(uuid.uuid4()),
        unit_id=unit.id,
        status=model.join_status(unit),
        card_no=format_card_number(province, repository.next_card_serial(uow.connection, province)),
        campaign_id=campaign.id,
        employer=form.employer,
        occupation=form.occupation,
        joined_at=at,
    )
    # The member id is bound into each ciphertext, so a ciphertext copied onto another row fails.
    aad = member.id.encode()
    uow.connection.execute(
        db.members.insert().values(
            id=member.id,
            unit_id=unit.id,
            campaign_id=campaign.id,
            card_no=member.card_no,
            status=member.status,
            name=form.name,
            mobile_enc=pii.encrypt(keys.pii, form.mobile, associated_data=aad),
            mobile_masked=mobile_rules.mask(form.mobile),
            id_number_enc=pii.encrypt(keys.pii, person.number, associated_data=aad),
            id_number_masked=resident_id.mask(person.number),
            id_hash=id_hash,
            openid=openid,
            birth_date=person.birth_date,
            sex=person.sex,
            employer=form.employer,
            occupation=form.occupation,
            consent_version=consent_version,
            consented_at=at,
            joined_at=at,
            updated_at=at,
        )
    )
    repository.count_join(uow.connection, campaign.id, local_day(at))
    _emit(uow, model.joined_event(member, unit), member.id, traceparent)
    return member


def explain_join_conflict(uow: UnitOfWork, form: JoinForm, *, openid: str, keys: Keys) -> Conflict | None:
    """After a unique-index violation (two joins raced), name the membership that won."""
    id_hash = pii.blind_index(keys.pii_hash_key, resident_id.parse(form.id_number).number)
    existing = repository.current_member(uow.connection, id_hash=id_hash, openid=openid)
    return _duplicate(uow, existing) if existing is not None else None


# --- members ----------------------------------------------------------------------------------


def member_in_scope(
    uow: UnitOfWork, member_id: str, scopes: list[str], *, for_update: bool = False
) -> Member:
    member = repository.member(uow.connection, member_id, for_update=for_update)
    if member is None:
        raise NotFound("member.not_found")
    unit = repository.unit(uow.connection, member.unit_id)
    if not model.in_scope(unit.path, scopes):
        raise NotFound("member.not_found")
    return member


def change_status(
    uow: UnitOfWork, member_id: str, scopes: list[str], action: str, *, reason=None, traceparent=None
):
    member = member_in_scope(uow, member_id, scopes, for_update=True)
    change = {
        "approve": lambda: model.approve(member),
        "reject": lambda: model.reject(member, reason),
        "suspend": lambda: model.suspend(member, reason),
        "reinstate": lambda: model.reinstate(member),
        "leave": lambda: model.leave(member),
    }[action]()
    repository.save_member_state(uow.connection, member, model.now())
    _emit(uow, change, member.id, traceparent)
    return member


def transfer(
    uow: UnitOfWork, member_id: str, scopes: list[str], to_branch_id: str, *, traceparent=None
) -> Member:
    member = member_in_scope(uow, member_id, scopes, for_update=True)
    # The admin must manage both ends: sending a member into a branch they don't run is allowed
    # only when that branch is inside their subtree too.
    target = unit_in_scope(uow, to_branch_id, scopes)
    change = model.transfer(member, target)
    repository.save_member_state(uow.connection, member, model.now())
    _emit(uow, change, member.id, traceparent)
    return member


def audit(
    uow: UnitOfWork, *, actor: str, action: str, member_id: str | None, fields: list[str], request_id=None
):
    uow.connection.execute(
        db.audit_log.insert().values(
            at=model.now(),
            actor=actor,
            action=action,
            member_id=member_id,
            fields=fields,
            request_id=request_id,
        )
    )


def personal_data(
    uow: UnitOfWork, member_id: str, scopes: list[str], *, keys: Keys, actor: str, request_id=None
):
    member_in_scope(uow, member_id, scopes)
    row = repository.member_row(uow.connection, member_id)
    if row.erased_at is not None:
        raise Conflict("member.erased")
    aad = member_id.encode()
    audit(
        uow,
        actor=actor,
        action="read_personal_data",
        member_id=member_id,
        fields=["name", "mobile", "id_number"],
        request_id=request_id,
    )
    return {
        "member_id": member_id,
        "name": row.name,
        "mobile": pii.decrypt(keys.pii, row.mobile_enc, associated_data=aad),
        "id_number": pii.decrypt(keys.pii, row.id_number_enc, associated_data=aad),
    }


def erase(uow: UnitOfWork, member_id: str, *, actor: str, request_id=None, traceparent=None) -> None:
    """Honour a deletion request: personal data is wiped, the card number and history stay anonymous."""
    member = repository.member(uow.connection, member_id, for_update=True)
    if member is None:
        raise NotFound("member.not_found")
    row = repository.member_row(uow.connection, member_id)
    if row.erased_at is not None:
        raise Conflict("member.erased")
    change = model.leave(member, erased=True)
    at = model.now()
    uow.connection.execute(
        update(db.members)
        .where(db.members.c.id == member_id)
        .values(
            status=member.status,
            name=None,
            mobile_enc=None,
            mobile_masked=None,
            id_number_enc=None,
            id_number_masked=None,
            id_hash=None,
            openid=None,
            birth_date=None,
            sex=None,
            employer="",
            occupation="",
            erased_at=at,
            updated_at=at,
        )
    )
    audit(
        uow,
        actor=actor,
        action="erase",
        member_id=member_id,
        fields=["all_personal_data"],
        request_id=request_id,
    )
    # Emitted even for someone who had already left: other services erase their copies too.
    _emit(uow, change, member_id, traceparent)


# --- staff ------------------------------------------------------------------------------------

STAFF_ROLES = ("admin", "till", "coordinator")


def create_staff(
    uow: UnitOfWork,
    scopes: list[str],
    *,
    actor: str,
    username: str,
    password: str,
    roles,
    unit_id=None,
    merchant_id=None,
    store_ids=(),
    station_ids=(),
) -> str:
    if "admin" in roles:
        if not unit_id:
            raise Invalid("staff.unit_required", field="unit_id")
        unit_in_scope(uow, unit_id, scopes)
    exists = uow.connection.execute(select(db.staff.c.id).where(db.staff.c.username == username)).first()
    if exists:
        raise Conflict("staff.username_taken")
    staff_id = str(uuid.uuid4())
    uow.connection.execute(
        db.staff.insert().values(
            id=staff_id,
            username=username,
            password_hash=_hasher.hash(password),
            roles=list(roles),
            unit_id=unit_id,
            merchant_id=merchant_id,
            store_ids=list(store_ids),
            station_ids=list(station_ids),
            disabled=False,
            created_by=actor,
            created_at=model.now(),
        )
    )
    return staff_id


def ensure_bootstrap_admin(uow: UnitOfWork, password: str, root: Unit) -> None:
    row = uow.connection.execute(select(db.staff).where(db.staff.c.username == "admin")).first()
    if row is None:
        create_staff(
            uow,
            [root.path],
            actor="bootstrap",
            username="admin",
            password=password,
            roles=["admin"],
            unit_id=root.id,
        )
    elif not _verifies(row.password_hash, password):
        uow.connection.execute(
            update(db.staff).where(db.staff.c.id == row.id).values(password_hash=_hasher.hash(password))
        )


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


# Checked against a real hash when the username is unknown, so timing does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def authenticate_staff(uow: UnitOfWork, username: str, password: str):
    row = uow.connection.execute(select(db.staff).where(db.staff.c.username == username)).first()
    if row is None:
        _verifies(_DUMMY_HASH, password)
        raise Forbidden("login.failed")
    if row.disabled or not _verifies(row.password_hash, password):
        raise Forbidden("login.failed")
    return row


# --- statistics -------------------------------------------------------------------------------


def funnel(uow: UnitOfWork, campaign: Campaign, counters: dict[date, dict[str, int]], *, days: int = 90):
    """Per-day scans, joins started and joins, with conversion (joins / scans)."""
    joins = repository.joins_by_day(uow.connection, campaign.id)
    created = uow.connection.execute(
        select(db.campaigns.c.created_at).where(db.campaigns.c.id == campaign.id)
    ).scalar_one()
    first = max(
        local_day(repository.utc(created)),
        local_day(model.now()) - timedelta(days=days - 1),
    )
    today = local_day(model.now())
    rows = []
    day = first
    while day <= today:
        c = counters.get(day, {})
        rows.append(
            {
                "day": day,
                "scans": c.get("scans", 0),
                "joins_started": c.get("started", 0),
                "joins": joins.get(day, 0),
            }
        )
        day += timedelta(days=1)
    return rows


def conversion(joins: int, scans: int) -> float:
    return round(joins / scans, 4) if scans else 0.0


# --- key rotation -----------------------------------------------------------------------------


def reencrypt_personal_data(uow: UnitOfWork, keys: Keys, *, batch: int = 500) -> int:
    """Re-encrypt up to ``batch`` members' data still under an old key; return how many changed.

    Rotation: put the new key first in UNIONHUB_PII_KEYS (old keys after it, so both decrypt), run
    this until it returns 0, then drop the old key.
    """
    m = db.members.c
    rows = uow.connection.execute(
        select(m.id, m.mobile_enc, m.id_number_enc)
        .where(m.id_number_enc.is_not(None))
        .where(~m.id_number_enc.startswith(f"{keys.pii.current_kid}:"))
        .limit(batch)
    ).all()
    for row in rows:
        aad = row.id.encode()
        uow.connection.execute(
            update(db.members)
            .where(m.id == row.id)
            .values(
                mobile_enc=pii.reencrypt(keys.pii, row.mobile_enc, associated_data=aad),
                id_number_enc=pii.reencrypt(keys.pii, row.id_number_enc, associated_data=aad),
            )
        )
    return len(rows)
