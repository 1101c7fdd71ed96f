"""Merchants' own ``unionhub`` subcommands."""

from __future__ import annotations

from services.common.kit import Command

from . import seed


def _seed(args) -> int:
    seed.main(args.domain)
    return 0


COMMANDS = [
    Command("seed", "demo merchants, stores, offers and a till login around 铜仁, 遵义 and 松桃", _seed),
]
