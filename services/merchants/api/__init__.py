"""Merchants' HTTP API, one module per resource; paths are fixed by the mini-app contract.

Views are thin: parse (the schemas), call one use case, answer.
"""

from .merchants import blp as merchants
from .offers import blp as offers
from .redemptions import blp as redemptions
from .vouchers import blp as vouchers

BLUEPRINTS = [merchants, offers, redemptions, vouchers]
