"""Grants that let a coordinator register stations under a branch."""

from marshmallow import Schema, fields

from schemas.http import Strict

from .common import ID


class GrantIn(Strict):
    staff_id = fields.String(required=True, validate=ID)  # a coordinator login's staff id
    branch_id = fields.String(required=True, validate=ID)


class GrantArgs(Strict):
    staff_id = fields.String(load_default=None, validate=ID)
    live = fields.Boolean(load_default=False)  # leave out revoked grants


class GrantOut(Schema):
    id = fields.String()
    staff_id = fields.String()
    branch_id = fields.String()
    branch_path = fields.List(fields.String())
    granted_by = fields.String()
    granted_at = fields.DateTime()
    revoked_by = fields.String(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
