"""Enrolment's HTTP API, one module per resource; paths are fixed by the mini-app contract.

Views are thin: parse (the schemas), call one use case, answer.
"""

from .audit import blp as audit
from .auth import blp as auth
from .branches import blp as branches
from .campaigns import blp as campaigns
from .cards import blp as cards
from .disputes import blp as disputes
from .join import blp as join
from .jwks import blp as jwks
from .members import blp as members
from .staff import blp as staff

BLUEPRINTS = [auth, jwks, branches, campaigns, join, members, cards, audit, staff, disputes]
