"""Enrolment's own ``unionhub`` subcommands: demo data, and re-encrypting personal data after a key change."""

from __future__ import annotations

from services.common.kit import Command

from . import rotation, seed


def _seed(args) -> int:
    seed.main(args.domain)
    return 0


def _rotate_pii(_args) -> int:
    print(f"re-encrypted {rotation.main()} member(s) under the current PII key")
    return 0


COMMANDS = [
    Command("seed", "demo units, campaigns and staff", _seed),
    Command("rotate-pii", "re-encrypt members' personal data under the current PII key", _rotate_pii),
]
