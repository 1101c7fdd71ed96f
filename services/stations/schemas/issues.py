"""Facility problems couriers report and coordinators resolve."""

from marshmallow import Schema, fields, validate

from schemas.http import Strict

from ..model import ISSUE_CATEGORIES
from .common import Created as Created  # re-exported: the views use s.Created


class IssueIn(Strict):
    category = fields.String(required=True, validate=validate.OneOf(ISSUE_CATEGORIES))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class IssueArgs(Strict):
    status = fields.String(load_default=None, validate=validate.OneOf(("open", "resolved")))


class IssueOut(Schema):
    id = fields.String()
    category = fields.String()
    note = fields.String(allow_none=True)
    status = fields.String()
    reported_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolution = fields.String(allow_none=True)


class ResolveIn(Strict):
    resolution = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
