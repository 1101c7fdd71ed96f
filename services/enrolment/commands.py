"""Enrolment's own ``unionhub`` subcommands: demo data, and re-encrypting personal data after a key change."""

from __future__ import annotations

import sys
from pathlib import Path

from services.common.kit import Command

from . import rotation, secrets, seed


def _seed(args) -> int:
    seed.main(args.domain)
    return 0


def _new_keys(args) -> int:
    try:
        jwt_file, env_file = secrets.write_key_files(Path(args.directory))
    except FileExistsError as error:
        print(f"{error.filename} exists: keys in use are never replaced", file=sys.stderr)
        return 1
    variables = ", ".join(line.partition("=")[0] for line in env_file.read_text().splitlines())
    print(f"wrote {jwt_file} (the JWT signing keys, for UNIONHUB_JWT_KEYS_FILE) and {env_file} ({variables})")
    print(f"e.g. docker compose --env-file {env_file} up -d --build")
    return 0


def _rotate_pii(_args) -> int:
    print(f"re-encrypted {rotation.main()} member(s) under the current PII key")
    return 0


COMMANDS = [
    Command("seed", "demo units, campaigns and staff", _seed),
    Command(
        "keys",
        "write new enrolment keys for a deployment that passes them in (compose)",
        _new_keys,
        ((("action",), {"choices": ["new"]}), (("directory",), {"help": "where to write the key files"})),
    ),
    Command("rotate-pii", "re-encrypt members' personal data under the current PII key", _rotate_pii),
]
