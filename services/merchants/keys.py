"""Every Redis key merchants uses, built here and nowhere else."""

PREFIX = "merchants"


def redeem_attempts(staff_id: str) -> str:
    return f"{PREFIX}:redeem:{staff_id}"


def card_keys() -> str:
    """The last card keys enrolment published, for when it does not answer (card_keys.CardKeys)."""
    return f"{PREFIX}:card_keys"
