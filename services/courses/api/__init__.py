"""Courses' HTTP API, one module per resource; paths are fixed by the mini-app contract.

Views are thin: parse (the schemas), call one use case, answer.
"""

from .bookings import blp as bookings
from .checkins import blp as checkins
from .courses import blp as courses
from .terms import blp as terms
from .venues import blp as venues

BLUEPRINTS = [venues, terms, courses, bookings, checkins]
