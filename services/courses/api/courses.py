"""Courses: admins create and publish them; members browse them with the seats left and book."""

import csv
import io

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from schemas.http import AuditEntryOut
from services.common import members, spreadsheet
from services.common.auth import ADMIN, MEMBER, bearer_token, principal, require
from services.common.clock import now
from services.common.domain import Forbidden, NotFound
from services.common.idempotency import HEADER, HEADER_DOC, IdempotentRequest
from services.common.units import in_scope
from services.common.views import unit_of_work

from .. import booking, queries, service, tables
from .. import schemas as s
from ..model import Person
from .context import admin_units, courses, member_id

blp = Blueprint("courses", __name__, url_prefix="/api/v1/courses", description="Courses and booking them")

# An instance, not the class: given a class, webargs builds the schema (deep-copying its fields) on
# every request, 2 % of a booking's CPU in the burst (docs/benchmarks.md, "Course booking burst").
BOOKING_IN = s.BookingIn()


@blp.route("")
class Courses(MethodView):
    @require()
    @blp.arguments(s.CourseQuery, location="query")
    @blp.response(200, s.CourseOut(many=True))
    def get(self, query):
        """Published courses with the seats left: of one term, or of every term still taking bookings

        With `status=draft`, an admin's drafts instead (403 for anyone else): of `term_id`, or of
        every term in the admin's subtree.
        """
        page = {"limit": query["limit"], "offset": query["offset"]}
        if query["status"] == "draft":
            if ADMIN not in principal().roles:
                raise Forbidden("forbidden")
            return service.draft_courses(unit_of_work(), admin_units(), query["term_id"], **page)
        with unit_of_work().read_only() as uow:
            if query["term_id"]:
                term_ids = [query["term_id"]]
            else:
                term_ids = [t["id"] for t in queries.open_terms(uow.connection, now())]
            conn = uow.connection
            return queries.courses_in_terms(
                conn, term_ids, "published", **page, branch_path=_browsing_from(conn)
            )

    @require(ADMIN)
    @blp.arguments(s.CourseIn)
    @blp.response(201, s.CourseCreatedOut)
    def post(self, body):
        """Create a course in a term (a draft, with its sessions planned from the weekly schedule)"""
        return service.create_course(unit_of_work(), admin_units(), **body)


@blp.route("/<course_id>")
class Course(MethodView):
    @require()
    @blp.response(200, s.CourseDetailOut)
    def get(self, course_id):
        """One course with its sessions; a draft, and which branches may book it, only for its admins"""
        with unit_of_work().read_only() as uow:
            found = queries.course_detail(uow.connection, course_id)
        caller = principal()
        manages = found is not None and ADMIN in caller.roles and in_scope(found["branch_path"], caller.units)
        if found is None or not (manages or found["status"] == "published"):
            raise NotFound("course.not_found")
        if not manages:
            del found["branch_ids"]  # which branches may book is for the course's admins to see
        return found


@blp.route("/<course_id>/publish")
class Publish(MethodView):
    @require(ADMIN)
    @blp.response(204)
    def post(self, course_id):
        """Publish a course: members see it and may book it while its term's booking is open"""
        service.publish_course(unit_of_work(), admin_units(), course_id)


@blp.route("/<course_id>/staff")
class CourseStaff(MethodView):
    @require(ADMIN)
    @blp.arguments(s.StaffIn)
    @blp.response(201, s.AssignedOut)
    def post(self, body, course_id):
        """Assign a staff account to check people in for this course"""
        added = service.assign_course_staff(unit_of_work(), admin_units(), course_id, body["staff_id"])
        return {"staff_id": body["staff_id"], "added": added}


@blp.route("/<course_id>/bookings")
class Bookings(MethodView):
    @require(MEMBER)
    @blp.arguments(BOOKING_IN)
    @blp.response(201, s.BookedOut)
    @blp.alt_response(200, schema=s.BookedOut, description="A retry with the same Idempotency-Key")
    @blp.doc(parameters=[HEADER_DOC])
    def post(self, body, course_id):
        """Book a seat for yourself or a registered child; a full course puts you on its waitlist"""
        ctx = courses()
        who = member_id()
        person = Person(who, body["child_id"])
        offered = booking.published(unit_of_work(), course_id)
        if person.child_id is None and offered.course.eligibility.needs_profile:
            profile = ctx.profiles.of(bearer_token())
            person = Person(who, sex=profile.sex, birth_year=profile.birth_year)
        once = IdempotentRequest.of(
            tables.idempotency_keys,
            f"book:{who}:{course_id}",
            request.headers.get(HEADER),
            body,
            secret=ctx.idempotency_key,
        )
        status, answer = booking.book(unit_of_work(), offered, person, once, ctx.tickets)
        return answer, status


def _browsing_from(conn) -> tuple[str, ...] | None:
    """Where a member browses from (their branch and its ancestry, as courses' projection of member
    events holds it), so the list leaves out courses they may not book; None for an admin or staff
    member, who see every published course."""
    caller = principal()
    if ADMIN in caller.roles or not caller.member_id:
        return None
    member = members.find(conn, tables.members, caller.member_id)
    return tuple(member.branch_path) if member else ()


def _roster_course(course_id: str):
    with unit_of_work().read_only() as uow:
        return service.course_in_scope(uow.connection, course_id, admin_units())


@blp.route("/<course_id>/roster")
class Roster(MethodView):
    @require(ADMIN)
    @blp.response(200, s.RosterOut(many=True))
    def get(self, course_id):
        """Who holds a seat or a waitlist place, with attendance"""
        _roster_course(course_id)
        with unit_of_work().read_only() as uow:
            return queries.roster(uow.connection, course_id)


ROSTER_COLUMNS = ("booking_id", "status", "waitlist_no", "card_no", "child", "attended", "no_shows")


@blp.route("/<course_id>/roster.csv")
class RosterCsv(MethodView):
    @require(ADMIN)
    @blp.response(200, {"type": "string"}, content_type="text/csv")
    def get(self, course_id):
        """The roster as CSV, for the venue's sign-in sheet; every export is audited"""
        actor = principal().subject
        course, rows = service.export_roster(unit_of_work(), admin_units(), course_id, actor=actor)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(ROSTER_COLUMNS)
        writer.writerows([spreadsheet.cell(row[column]) for column in ROSTER_COLUMNS] for row in rows)
        return Response(
            spreadsheet.BOM + out.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="roster-{course.id}.csv"'},
        )


@blp.route("/<course_id>/audit")
class RosterAudit(MethodView):
    @require(ADMIN)
    @blp.response(200, AuditEntryOut(many=True))
    def get(self, course_id):
        """Who exported the course's roster, and when (the latest 200)"""
        _roster_course(course_id)
        with unit_of_work().read_only() as uow:
            return queries.audit_trail(uow.connection, course_id)


@blp.route("/<course_id>/attendance")
class Attendance(MethodView):
    @require(ADMIN)
    @blp.response(200, s.AttendanceOut(many=True))
    def get(self, course_id):
        """Check-ins and no-shows per session"""
        _roster_course(course_id)
        with unit_of_work().read_only() as uow:
            return queries.attendance(uow.connection, course_id)
