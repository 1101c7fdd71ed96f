"""Joining the union: the SMS code to the mobile, the real-name check, and the join itself.

A join proves its person before a membership exists (an SMS code and the identity provider's
二要素 check), never reveals another person's membership (an ID number held by someone else opens
a dispute, answered without a branch), and is applied once per Idempotency-Key.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import redis
from sqlalchemy import Connection, exc

from schemas import mobile as mobile_rules
from schemas import resident_id
from services.common import ratelimit, sql
from services.common.clock import local_day, now
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Invalid, Unavailable
from services.common.idempotency import IdempotentRequest, KeyTaken

from . import identity, keys, model, pii, repository
from .card_number import format_card_number
from .funnel import Funnel
from .model import Campaign, Member, Unit
from .service import PiiKeys, opened


@dataclass(frozen=True)
class JoinForm:
    campaign_code: str
    name: str
    mobile: str
    sms_code: str
    id_number: str
    employer: str
    occupation: str
    consent: bool


@dataclass(frozen=True)
class Verification:
    """How a join proves its person: the identity provider, and SMS codes to the mobile."""

    provider: identity.Provider
    code_ttl: int = 300
    code_attempts: int = 5
    sms_limit_per_hour: int = 5

    def codes(self, client: redis.Redis, pii_keys: PiiKeys) -> identity.SmsCodes:
        key = identity.code_key(pii_keys.pii_hash_key)
        return identity.SmsCodes(client, key, ttl=self.code_ttl, max_attempts=self.code_attempts)


@dataclass(frozen=True)
class JoinRules:
    """The settings a join depends on."""

    pii_keys: PiiKeys
    province: str  # the card number's province code
    consent_version: str
    limit_per_hour: int
    verification: Verification


def send_join_code(client: redis.Redis, *, openid: str, mobile: str, rules: JoinRules) -> int:
    """Text a fresh join code to the mobile; answer how many seconds it stays valid."""
    v = rules.verification
    codes = v.codes(client, rules.pii_keys)
    # Per WeChat user, so one user cannot buy many guesses, and per mobile, so no one can flood a phone.
    # Redis down lets these limits through (they protect capacity), but then no code can be
    # stored either: issue() refuses, so nothing is sent.
    counted = [keys.join_sms_sends("openid", openid), keys.join_sms_sends("mobile", codes.mobile_tag(mobile))]
    for key in counted:
        ratelimit.hit(client, key, limit=v.sms_limit_per_hour, window_seconds=3600)
    code, replaced = codes.issue(openid, mobile)
    try:
        v.provider.send_sms(mobile, identity.sms_text(code, v.code_ttl))
    except Unavailable:
        # Nothing reached the phone: the code it has keeps working, and the send is not counted,
        # so a worker tapping "resend" through a gateway outage is not locked out for the hour.
        codes.restore(openid, mobile, replaced)
        ratelimit.give_back(client, *counted)
        raise
    return v.code_ttl


def join(
    uow: UnitOfWork,
    client: redis.Redis,
    form: JoinForm,
    *,
    openid: str,
    rules: JoinRules,
    request: IdempotentRequest,
) -> dict:
    """Join through a campaign once the SMS code and the name with the ID number check out; a retry
    with the same Idempotency-Key gets the first answer back."""
    # One read for the stored answer and every refusal below: each statement costs CPU that the
    # machine's other work shares. The write transaction checks again.
    with uow.read_only():
        if stored := request.answered(uow.connection):
            return stored[1]
        found = repository.campaign_with_unit(uow.connection, form.campaign_code)
        already = _own_membership_conflict(uow.connection, openid)
    campaign = found[0] if found else None
    ratelimit.hit(client, keys.join_attempts(openid), limit=rules.limit_per_hour, window_seconds=3600)
    if campaign is not None:
        Funnel(client).count(campaign.id, "started", local_day(now()))
    # Refusals that need no proof of identity come first, so they do not spend the member's code.
    _joinable(form, found)
    if already is not None:
        # The membership may be this very request's, made by a twin with the same key just now.
        with uow.read_only():
            if stored := request.answered(uow.connection):
                return stored[1]
        raise already
    codes = rules.verification.codes(client, rules.pii_keys)
    codes.check(openid, form.mobile, form.sms_code, request=_retry_tag(request))
    rules.verification.provider.verify(form.name, form.id_number)
    # Encrypting is CPU work: done before the transaction, it holds no lock (on SQLite the whole
    # transaction holds the database's write lock).
    member_id = str(uuid.uuid4())
    personal = _personal_data(form, openid=openid, rules=rules, member_id=member_id)
    try:
        with uow:
            conn = uow.connection
            member, writes = _join(
                uow, form, openid=openid, rules=rules, member_id=member_id, personal=personal
            )
            result = {"member_id": member.id, "card_no": member.card_no, "status": member.status}
            # The member row, its event, the stored answer and the day's count go in one round
            # trip, refused together when a live twin holds the key. Every join through this
            # poster today updates the count's one row and holds it to COMMIT: the last statement,
            # so the lock lasts one round trip and the commit.
            steps = [(*write, None) for write in writes]
            if (remembering := request.remembering(conn, 201, result)) is not None:
                steps.append((*remembering, KeyTaken()))
            counting = repository.counting_join(conn, member.campaign_id, local_day(member.joined_at))
            sql.write_in_turn(conn, [*steps, (*counting, None)])
            uow.commit()
    except (exc.IntegrityError, Conflict) as error:
        # A concurrent join of the same person (or a retry with the same key) won the race. A
        # retry that checked for a stored answer just before its twin committed then meets the
        # twin's member (Conflict) or unique index (IntegrityError): it gets the twin's answer.
        with uow:
            if stored := request.answered(uow.connection):
                return stored[1]
            if isinstance(error, Conflict):
                raise
            _check_own_membership(uow.connection, openid)
            _check_id_number_free(uow, form, openid=openid, rules=rules, campaign_id=campaign.id)
        raise Conflict("member.already_joined") from None
    return result


def _retry_tag(request: IdempotentRequest) -> str | None:
    """What makes a request the same one retried: its Idempotency-Key and its body."""
    if request.key is None:
        return None
    return json.dumps([request.scope, request.key, request.payload], sort_keys=True, default=str)


def _joinable(form: JoinForm, found: tuple[Campaign, Unit] | None) -> tuple[Campaign, Unit]:
    """The campaign and its unit (``found`` by the form's code) if this form may join through it."""
    if not form.consent:
        raise Invalid("consent.required", field="consent")
    campaign, unit = opened(found)
    model.check_can_join_branch(unit)
    return campaign, unit


def _check_own_membership(conn: Connection, openid: str) -> None:
    if (conflict := _own_membership_conflict(conn, openid)) is not None:
        raise conflict


def _own_membership_conflict(conn: Connection, openid: str, own=None) -> Conflict | None:
    """The same WeChat user joining again is told their own branch: that reveals no one else's."""
    if own is None and (own := repository.current_member(conn, openid=openid)) is None:
        return None
    unit = repository.unit(conn, own.unit_id)
    return Conflict("member.already_joined", branch=unit.name, branch_id=unit.id)


def _check_id_number_free(
    uow: UnitOfWork, form: JoinForm, *, openid: str, rules: JoinRules, campaign_id: str
) -> None:
    """Refuse a verified person whose ID number another WeChat user's current membership holds.

    The refusal opens a dispute for the admins above that membership, committed here though the
    join fails, and is one answer whoever holds the number and wherever: no branch, no status, no
    dispute id, so the join is no oracle of anyone's membership.
    """
    id_hash = pii.blind_index(rules.pii_keys.pii_hash_key, resident_id.parse(form.id_number).number)
    held = repository.current_member(uow.connection, id_hash=id_hash)
    _refuse_if_held(uow, form, held, openid=openid, rules=rules, campaign_id=campaign_id)


def _refuse_if_held(
    uow: UnitOfWork, form: JoinForm, held, *, openid: str, rules: JoinRules, campaign_id: str
) -> None:
    """``held``: the current membership of the form's ID number, if there is one."""
    if held is None:
        return
    conn = uow.connection
    if repository.open_dispute_of(conn, held.id, openid) is None:
        dispute = model.Dispute(str(uuid.uuid4()), held.id, model.OPEN, openid, now())
        aad = dispute.id.encode()  # as for members: the ciphertext is bound to its row
        claimant = {
            "claimant_name": form.name,
            "claimant_mobile_enc": pii.encrypt(rules.pii_keys.pii, form.mobile, associated_data=aad),
            "claimant_mobile_masked": mobile_rules.mask(form.mobile),
            "claimant_employer": form.employer,
            "claimant_occupation": form.occupation,
            "claimant_consent_version": rules.consent_version,
            "claimant_consented_at": dispute.opened_at,
        }
        repository.add_dispute(conn, dispute, claimant, campaign_id=campaign_id)
    uow.commit()
    raise Conflict("member.identity_disputed")


def _personal_data(form: JoinForm, *, openid: str, rules: JoinRules, member_id: str) -> dict:
    """The member row's personal columns: encrypted, masked and hashed."""
    person = resident_id.parse(form.id_number)
    # The member id is bound into each ciphertext, so a ciphertext copied onto another row fails.
    aad = member_id.encode()
    return {
        "name": form.name,
        "mobile_enc": pii.encrypt(rules.pii_keys.pii, form.mobile, associated_data=aad),
        "mobile_masked": mobile_rules.mask(form.mobile),
        "id_number_enc": pii.encrypt(rules.pii_keys.pii, person.number, associated_data=aad),
        "id_number_masked": resident_id.mask(person.number),
        "id_hash": pii.blind_index(rules.pii_keys.pii_hash_key, person.number),
        "openid": openid,
        "birth_date": person.birth_date,
        "sex": person.sex,
    }


def _join(
    uow: UnitOfWork, form: JoinForm, *, openid: str, rules: JoinRules, member_id: str, personal: dict
) -> tuple[Member, list[tuple]]:
    """The member, and the writes of its row and event; the caller sends them with the stored
    answer and the join's count, and commits."""
    conn = uow.connection
    campaign, unit = _joinable(form, repository.campaign_with_unit(conn, form.campaign_code))
    # The person's own membership and their ID number's, in one statement: own first, as above.
    current = repository.current_members(conn, openid=openid, id_hash=personal["id_hash"])
    own = next((row for row in current if row.openid == openid), None)
    if own is not None:
        raise _own_membership_conflict(conn, openid, own)
    held = next((row for row in current if row.id_hash == personal["id_hash"]), None)
    _refuse_if_held(uow, form, held, openid=openid, rules=rules, campaign_id=campaign.id)

    # After every check, so a refused join spends no serial (on PostgreSQL a serial taken is gone
    # even if the join rolls back). The member row, its event and the stored answer need it.
    serial = repository.next_card_serial(conn, rules.province)
    member = Member(
        id=member_id,
        unit_id=unit.id,
        status=model.join_status(unit),
        card_no=format_card_number(rules.province, serial),
        campaign_id=campaign.id,
        employer=form.employer,
        occupation=form.occupation,
        joined_at=now(),
    )
    event_type, payload = model.joined_event(member, unit)
    return member, [
        repository.adding_member(member, personal, consent_version=rules.consent_version),
        uow.recording(uow.event(event_type, member.id, payload)),
    ]
