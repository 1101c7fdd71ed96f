"""Every write to merchants' tables and the lookups use cases share, one module per resource.

Only this package writes tables; use cases decide (service.py, till.py, reversal.py), list views read through
queries.py. Callers use ``repository.<function>``.
"""

from .budgets import budget_short, spending_budget
from .merchants import (
    add_merchant,
    add_store,
    add_till_staff,
    merchant,
    set_store_open,
    spend_merchant_budget,
    store,
    till_stores,
    username_taken,
)
from .offers import (
    add_offer,
    counting_use,
    give_back_use,
    mark_exhausted,
    offer,
    offers_of,
    spend_offer_budget,
)
from .redemptions import add_reversal, adding_redemption, redemption, refund_budget
from .rows import offer_from_row
from .till import AtTill, TillRead, Voucher, till_read
from .vouchers import (
    add_shift_voucher,
    add_voucher,
    give_back_voucher,
    spending_voucher,
    usable_vouchers,
)

__all__ = [
    "AtTill",
    "TillRead",
    "Voucher",
    "add_merchant",
    "add_offer",
    "add_reversal",
    "adding_redemption",
    "add_shift_voucher",
    "add_store",
    "add_till_staff",
    "add_voucher",
    "budget_short",
    "counting_use",
    "give_back_use",
    "give_back_voucher",
    "mark_exhausted",
    "merchant",
    "offer",
    "offer_from_row",
    "offers_of",
    "redemption",
    "refund_budget",
    "set_store_open",
    "spend_merchant_budget",
    "spend_offer_budget",
    "spending_budget",
    "spending_voucher",
    "store",
    "till_read",
    "till_stores",
    "usable_vouchers",
    "username_taken",
]
