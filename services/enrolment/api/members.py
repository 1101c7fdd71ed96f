"""Members: a member's own profile, card code and erasure; admins' lists, details and status changes."""

import csv
import io
import time
from collections.abc import Iterator

from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas import names
from services.common import spreadsheet
from services.common.auth import ADMIN, MEMBER, principal, require
from services.common.clock import utc
from services.common.views import no_store, unit_of_work

from .. import exports, membership, queries
from .. import schemas as s
from .context import admin_units, enrolment

blp = Blueprint("members", __name__, url_prefix="/api/v1", description="Members and their cards")


def member_out(row, branch_name: str) -> dict:
    return {
        "id": row.id,
        "branch_id": row.unit_id,
        "branch": branch_name,
        "card_no": row.card_no,
        "status": row.status,
        # Unmasked only through the audited personal-data read.
        "name": names.mask(row.name),
        "mobile": row.mobile_masked,
        "id_number": row.id_number_masked,
        "sex": row.sex,
        "birth_year": row.birth_date.year if row.birth_date else None,
        "employer": row.employer,
        "occupation": row.occupation,
        "joined_at": utc(row.joined_at),
    }


# --- the member's own -----------------------------------------------------------------------------


@blp.route("/members/me")
class Me(MethodView):
    @require(MEMBER)
    @blp.response(200, s.MemberOut)
    def get(self):
        """The member's own profile, mobile and ID number masked"""
        return member_out(
            *membership.my_member(unit_of_work(), principal().member_id, subject=principal().subject)
        )


@blp.route("/members/me/card/token")
class MyCardToken(MethodView):
    @require(MEMBER)
    @blp.response(200, s.CardTokenOut)
    def get(self):
        """The member card's rotating code: valid about a minute, accepted once"""
        e = enrolment()
        token, ttl = membership.card_code(
            unit_of_work(),
            principal().member_id,
            subject=principal().subject,
            cards=e.cards,
            ttl=e.settings.card_token_ttl,
            at=int(time.time()),
        )
        return no_store({"token": token, "expires_in": ttl})


@blp.route("/members/me/erasure")
class MyErasure(MethodView):
    @require(MEMBER)
    @blp.response(204)
    def post(self):
        """Delete my personal data and leave the union (PIPL deletion request)"""
        membership.erase(unit_of_work(), principal().member_id, subject=principal().subject)


# --- for admins -----------------------------------------------------------------------------------


@blp.route("/members")
class Members(MethodView):
    @require(ADMIN)
    @blp.arguments(s.MemberListArgs, location="query")
    @blp.response(200, s.MemberPageOut)
    def get(self, args):
        """Members of the admin's subtree, masked, newest first"""
        with unit_of_work().read_only() as uow:
            rows, branches, total = queries.members_page(uow.connection, admin_units(), **args)
        return {
            "items": [member_out(r, branches[r.unit_id]) for r in rows],
            "page": args["page"],
            "per_page": args["per_page"],
            "total": total,
        }


EXPORT_COLUMNS = [
    "card_no",
    "branch",
    "status",
    "name",
    "mobile",
    "id_number",
    "employer",
    "occupation",
    "joined_at",
]


def _export_row(r, branches: dict[str, str]) -> list[str]:
    values = (
        r.card_no, branches[r.unit_id], r.status, names.mask(r.name), r.mobile_masked, r.id_number_masked,
        r.employer, r.occupation, utc(r.joined_at).isoformat(),
    )  # fmt: skip
    return [spreadsheet.cell(v) for v in values]


def _csv_chunks(uow, export) -> Iterator[str]:
    """The CSV one batch of rows at a time: what the worker holds stays the same for any export."""
    out = io.StringIO()
    writer = csv.writer(out)
    out.write(spreadsheet.BOM)
    writer.writerow(EXPORT_COLUMNS)
    for batch in exports.batches(uow, export):
        writer.writerows(_export_row(r, export.branches) for r in batch)
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


def _read_first(chunks: Iterator[str]) -> Iterator[str]:
    """The chunks, the first read now: a database gone before the 200 is sent is a 503, as for any
    request (once the body streams, an error can only cut it short)."""
    first = next(chunks)

    def streamed() -> Iterator[str]:
        yield first
        yield from chunks  # and a client gone midway closes the export's cursor with it

    return streamed()


@blp.route("/members/export.csv")
class MembersExport(MethodView):
    @require(ADMIN)
    @blp.arguments(s.MemberListArgs, location="query")
    @blp.response(200, content_type="text/csv")
    def get(self, args):
        """Export the admin's members as CSV, masked; every export is audited"""
        uow = unit_of_work()
        export = exports.export_members(
            uow,
            admin_units(),
            actor=principal().subject,
            branch_id=args.get("branch_id"),
            status=args.get("status"),
        )
        return Response(
            stream_with_context(_read_first(_csv_chunks(uow, export))),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=members.csv", "Cache-Control": "no-store"},
        )


@blp.route("/members/<member_id>")
class MemberDetail(MethodView):
    @require(ADMIN)
    @blp.response(200, s.MemberOut)
    def get(self, member_id):
        """One member, masked"""
        return member_out(*membership.member(unit_of_work(), admin_units(), member_id))


@blp.route("/members/<member_id>/personal-data")
class MemberPersonalData(MethodView):
    @require(ADMIN)
    @blp.response(200, s.PersonalDataOut)
    def get(self, member_id):
        """A member's unmasked name, mobile and ID number; every read is audited"""
        data = membership.personal_data(
            unit_of_work(), admin_units(), member_id, pii_keys=enrolment().pii_keys, actor=principal().subject
        )
        return no_store(s.PersonalDataOut().dump(data))


def _status_view(action: str, summary: str, with_reason: bool):
    class StatusChange(MethodView):
        @require(ADMIN)
        @blp.arguments(s.ReasonIn)
        @blp.response(200, s.StatusOut)
        def post(self, body, member_id):
            reason = body.get("reason") if with_reason else None
            return membership.change_status(unit_of_work(), admin_units(), member_id, action, reason=reason)

    StatusChange.post.__doc__ = summary
    StatusChange.__name__ = f"Member{action.title()}"
    return StatusChange


for _action, _summary, _reason in [
    ("approve", "Approve a pending application", False),
    ("reject", "Reject a pending application", True),
    ("suspend", "Suspend an active member: card refused, bookings cancelled", True),
    ("reinstate", "Reinstate a suspended member", False),
    ("leave", "Record that a member left the union", True),
]:
    blp.route(f"/members/<member_id>/{_action}", endpoint=f"member_{_action}")(
        _status_view(_action, _summary, _reason)
    )


@blp.route("/members/<member_id>/transfer")
class MemberTransfer(MethodView):
    @require(ADMIN)
    @blp.arguments(s.TransferIn)
    @blp.response(200, s.StatusOut)
    def post(self, body, member_id):
        """Transfer a member to another branch in the admin's subtree"""
        return membership.transfer(unit_of_work(), admin_units(), member_id, body["branch_id"])
