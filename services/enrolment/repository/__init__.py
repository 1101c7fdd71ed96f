"""Every write to enrolment's tables, the lookups use cases share, and rows mapped to domain objects.

Only this package writes tables, one module per resource; use cases decide (service.py and its
siblings), list views read through queries.py. Callers use ``repository.<function>``.
"""

from .campaigns import (
    add_campaign,
    campaign,
    campaign_by_code,
    campaign_created_at,
    campaign_with_unit,
    revoke_campaign,
)
from .counters import count_join, counting_join, joins_by_day, next_card_serial
from .disputes import (
    add_dispute,
    claimants_under_old_key,
    close_dispute,
    dispute_from_row,
    dispute_row,
    open_claims_of,
    open_dispute_of,
    set_claimant_mobile,
)
from .members import (
    add_member,
    adding_member,
    bind_member,
    current_member,
    current_members,
    erase_member,
    forget_join_answers,
    join_scope,
    member,
    member_row,
    members_under_old_key,
    save_member_state,
    set_member_ciphertexts,
    unerased_members_of,
)
from .rows import campaign_from_row, unit_from_row, within
from .staff import add_staff, set_staff_password, staff_by_username
from .units import add_unit, root_unit, unit, units_by_ids

__all__ = [
    "add_campaign",
    "add_dispute",
    "claimants_under_old_key",
    "add_member",
    "adding_member",
    "add_staff",
    "add_unit",
    "bind_member",
    "campaign",
    "campaign_by_code",
    "campaign_created_at",
    "campaign_from_row",
    "campaign_with_unit",
    "close_dispute",
    "count_join",
    "counting_join",
    "current_member",
    "current_members",
    "dispute_from_row",
    "dispute_row",
    "erase_member",
    "forget_join_answers",
    "join_scope",
    "joins_by_day",
    "member",
    "member_row",
    "members_under_old_key",
    "next_card_serial",
    "open_claims_of",
    "open_dispute_of",
    "set_claimant_mobile",
    "revoke_campaign",
    "root_unit",
    "save_member_state",
    "set_member_ciphertexts",
    "set_staff_password",
    "staff_by_username",
    "unerased_members_of",
    "unit",
    "unit_from_row",
    "units_by_ids",
    "within",
]
