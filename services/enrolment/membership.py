"""A member's life in the union: their own card and data, and what admins do to a membership.

Each use case opens its unit of work, decides with model.py, writes through the repository and
commits state, audit rows and events together.
"""

from __future__ import annotations

from sqlalchemy import Connection

from services.common import audit, card_codes
from services.common.clock import now
from services.common.db import UnitOfWork
from services.common.domain import Conflict, Invalid, NotFound

from . import model, pii, repository, tables
from .card_token import CardIssuer
from .model import Member
from .service import PiiKeys, member_in_scope, record_change, scope_paths, unit_in_scope

# --- a member's own card and data ----------------------------------------------------------------


def _own_row(conn: Connection, member_id: str | None, subject: str):
    """The membership a member token names, while the caller still holds it.

    A token names its member id for 15 minutes; a resolved dispute can move the membership to
    another person meanwhile, and the earlier holder's token must stop reaching it at once.
    """
    if not member_id:
        raise NotFound("member.not_joined")
    row = repository.member_row(conn, member_id)
    if row is None or row.erased_at is not None or f"wx:{row.openid}" != subject:
        raise NotFound("member.not_found")
    return row


def my_member(uow: UnitOfWork, member_id: str | None, *, subject: str):
    """The member's own row and branch name; one who never joined or was erased is not found."""
    with uow.read_only():
        row = _own_row(uow.connection, member_id, subject)
        return row, repository.unit(uow.connection, row.unit_id).name


def card_code(
    uow: UnitOfWork, member_id: str | None, *, subject: str, cards: CardIssuer, ttl: int, at: int
) -> tuple[str, int]:
    """A fresh rotating code for the member's card, for an active member only."""
    with uow.read_only():
        row = _own_row(uow.connection, member_id, subject)
    if row.status != model.ACTIVE:
        raise Conflict("member.not_active")
    return cards.issue(row.id, now=at, ttl=ttl)


def redeem_card(
    uow: UnitOfWork, token: str, *, keys: card_codes.PublicKeys, at: int, used: card_codes.UsedTokens
) -> Member:
    """A till scanned a card code: accepted once, and only for an active member. Spent last, as at
    merchants' till: a member refused, or the database down (503), leaves the code for a retry."""
    try:
        claims = card_codes.verify(token, keys, now=at)
    except card_codes.CardTokenError as error:
        raise Invalid(error.code, field="token") from None
    with uow.read_only():
        member = repository.member(uow.connection, claims.member_id)
    if member is None or member.status != model.ACTIVE:
        raise Conflict("member.not_active")
    try:
        card_codes.spend(claims, now=at, used=used)
    except card_codes.CardTokenError as error:  # a genuine code scanned again: its first use won
        raise Conflict(error.code) from None
    return member


def erase(uow: UnitOfWork, member_id: str | None, *, subject: str) -> None:
    """Honour a deletion request: the personal data of every membership the person holds or held is
    wiped, each card number and history stays, anonymous; and the disputes they raised as claimant
    and are still open are withdrawn, which wipes the details they gave.

    The person is their WeChat login, not the token's member id: that names only a current
    membership, and one who left or was rejected, or left and joined again, has rows it never names;
    a claimant may have none at all.
    """
    openid = subject.removeprefix("wx:") if subject.startswith("wx:") else None
    with uow:
        conn = uow.connection
        # Disputes before members, as resolving one locks them.
        claims = repository.open_claims_of(conn, openid) if openid else []
        members = repository.unerased_members_of(conn, openid) if openid else []
        if not (claims or members):
            raise _nothing_to_erase(conn, member_id)
        # The stored answers to their joins name their memberships: a replay must not bring one back.
        repository.forget_join_answers(conn, openid)
        for dispute in claims:
            model.withdraw(dispute)
            repository.close_dispute(conn, dispute, actor=subject, at=now())
            _audit(uow, actor=subject, action="dispute_withdrawn", member_id=dispute.member_id, fields=[])
        for member in members:
            change = model.leave(member, erased=True)
            repository.erase_member(conn, member, now())
            _audit(uow, actor=subject, action="erase", member_id=member.id, fields=["all_personal_data"])
            # Emitted even for a membership that had ended: other services erase their copies too.
            record_change(uow, change, member.id)
        uow.commit()


def _nothing_to_erase(conn: Connection, member_id: str | None) -> Exception:
    # Repeated with the token of the membership it erased, the request conflicts with the first.
    if not member_id:
        return NotFound("member.not_joined")
    row = repository.member_row(conn, member_id)
    if row is not None and row.erased_at is not None:
        return Conflict("member.erased")
    return NotFound("member.not_found")


# --- members, for admins ------------------------------------------------------------------------


def member(uow: UnitOfWork, admin_units, member_id: str):
    """One member's row and branch name, in the admin's subtree."""
    with uow.read_only():
        conn = uow.connection
        found = member_in_scope(conn, member_id, scope_paths(conn, admin_units))
        return repository.member_row(conn, found.id), repository.unit(conn, found.unit_id).name


def change_status(uow: UnitOfWork, admin_units, member_id: str, action: str, *, reason=None) -> Member:
    with uow:
        conn = uow.connection
        member = member_in_scope(conn, member_id, scope_paths(conn, admin_units), for_update=True)
        change = {
            "approve": lambda: model.approve(member),
            "reject": lambda: model.reject(member, reason),
            "suspend": lambda: model.suspend(member, reason),
            "reinstate": lambda: model.reinstate(member),
            "leave": lambda: model.leave(member),
        }[action]()
        repository.save_member_state(conn, member, now())
        record_change(uow, change, member.id)
        uow.commit()
    return member


def transfer(uow: UnitOfWork, admin_units, member_id: str, to_branch_id: str) -> Member:
    with uow:
        conn = uow.connection
        scopes = scope_paths(conn, admin_units)
        member = member_in_scope(conn, member_id, scopes, for_update=True)
        # The admin must manage both ends: sending a member into a branch they don't run is allowed
        # only when that branch is inside their subtree too.
        change = model.transfer(member, unit_in_scope(conn, to_branch_id, scopes))
        repository.save_member_state(conn, member, now())
        record_change(uow, change, member.id)
        uow.commit()
    return member


def personal_data(uow: UnitOfWork, admin_units, member_id: str, *, pii_keys: PiiKeys, actor: str) -> dict:
    """A member's unmasked name, mobile and ID number; the read is audited in the same transaction."""
    with uow:
        conn = uow.connection
        member_in_scope(conn, member_id, scope_paths(conn, admin_units))
        row = repository.member_row(conn, member_id)
        if row.erased_at is not None:
            raise Conflict("member.erased")
        aad = member_id.encode()
        data = {
            "member_id": member_id,
            "name": row.name,
            "mobile": pii.decrypt(pii_keys.pii, row.mobile_enc, associated_data=aad),
            "id_number": pii.decrypt(pii_keys.pii, row.id_number_enc, associated_data=aad),
        }
        fields = ["name", "mobile", "id_number"]
        _audit(uow, actor=actor, action="read_personal_data", member_id=member_id, fields=fields)
        uow.commit()
    return data


def _audit(uow: UnitOfWork, *, actor: str, action: str, member_id: str | None, fields: list[str]) -> None:
    audit.record(uow, tables.audit_log, actor=actor, action=action, subject=member_id, fields=fields)


# --- key rotation ---------------------------------------------------------------------------------


def reencrypt_personal_data(uow: UnitOfWork, pii_keys: PiiKeys, *, batch: int = 500) -> int:
    """Re-encrypt up to ``batch`` rows' personal data still under an old key, open disputes'
    claimants' and then members'; return how many changed.

    Rotation: put the new key first in UNIONHUB_PII_KEYS (old keys after it, so both decrypt), run
    this until it returns 0, then drop the old key.

    The rows are locked as they are read: an erasure, a dispute's move or its close that commits
    between the read and the write would otherwise be overwritten with the old ciphertexts. A locked
    row is waited for, then read as its writer left it; skipping it instead could make a batch find
    nothing but locked rows, and the run end with them still under the old key. Disputes are locked
    before members, as resolving a dispute locks them, so the two cannot deadlock.
    """
    kid = pii_keys.pii.current_kid
    with uow:
        conn = uow.connection
        # A claimant's mobile is bound to the dispute's id (joining.py), and read again to move it.
        claimants = repository.claimants_under_old_key(conn, kid, batch)
        for row in claimants:
            mobile_enc = pii.reencrypt(pii_keys.pii, row.claimant_mobile_enc, associated_data=row.id.encode())
            repository.set_claimant_mobile(conn, row.id, mobile_enc)
        members = repository.members_under_old_key(conn, kid, batch - len(claimants))
        for row in members:
            aad = row.id.encode()
            repository.set_member_ciphertexts(
                conn,
                row.id,
                mobile_enc=pii.reencrypt(pii_keys.pii, row.mobile_enc, associated_data=aad),
                id_number_enc=pii.reencrypt(pii_keys.pii, row.id_number_enc, associated_data=aad),
            )
        uow.commit()
    return len(claimants) + len(members)
