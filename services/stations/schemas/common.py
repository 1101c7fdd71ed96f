"""What the stations' schemas share: validators, and the answers and arguments several views use."""

from marshmallow import Schema, fields, validate

from schemas.fields import Day
from schemas.http import Strict

NAME = validate.Length(min=1, max=120)
# Redis GEO indexes latitudes within ±85.05112878° (Web Mercator); nowhere a courier rides is beyond.
GEO_LAT = validate.Range(min=-85.05112878, max=85.05112878, error="geo.latitude")
ID = validate.Length(min=1, max=64)


class Created(Schema):
    id = fields.String()


class RangeArgs(Strict):
    start = Day(data_key="from", load_default=None)
    end = Day(data_key="to", load_default=None)
