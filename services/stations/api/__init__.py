"""Stations' HTTP API, one module per resource; the paths in DESIGN.md §7 are fixed.

Views are thin: parse (the schemas), call one use case, answer.
"""

from .issues import blp as issues
from .lockers import blp as lockers
from .registration import blp as registration
from .rota import blp as rota
from .shifts import blp as shifts
from .stations import blp as stations

BLUEPRINTS = [stations, registration, issues, rota, shifts, lockers]
