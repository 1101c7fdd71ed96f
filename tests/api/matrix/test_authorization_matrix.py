"""Object-level and function-level authorization (OWASP API1, API5) over every operation of every
service whose path names an object, table-driven (cases.py) against a world with two of
everything (world.py).

For each row, every caller of the cast the row does not allow, from the other party or in another
role, is refused (403 or 404; 401 without a token) and no service's database changes; then the
row's owner does it, which shows that the ids were real. The table is checked against the services'
own OpenAPI documents: a new operation with an id in its path fails here until it has a row.
"""

from __future__ import annotations

import uuid

import pytest

from .cases import CASES, Case
from .watch import Watch, said
from .world import CAST, World

REFUSED = frozenset({403, 404})
METHODS = ("get", "put", "post", "delete", "patch")


def call(world: World, case: Case, caller: str, path: str, body):
    headers = {"Idempotency-Key": uuid.uuid4().hex} if case.idempotent else {}
    return world.send(case.method, path, caller, body, **headers)


def documented_operations(world: World) -> dict[tuple[str, str], str]:
    """(METHOD, path) → service, for every operation in the services' OpenAPI documents."""
    found = {}
    for name, app in world.apps.items():
        reply = app.test_client().get("/openapi.json")
        if reply.status_code != 200:
            continue  # a service without an API (the fuzz run requires a document of every API)
        for path, item in reply.get_json()["paths"].items():
            for method in item:
                if method in METHODS:
                    found[(method.upper(), path)] = name
    return found


def test_the_matrix_has_a_row_for_every_operation_with_an_id_in_its_path_and_no_other(world):
    documented = {op: name for op, name in documented_operations(world).items() if "{" in op[1]}
    listed = {case.operation for case in CASES}
    missing = sorted(f"{documented[op]}: {op[0]} {op[1]}" for op in documented.keys() - listed)
    stale = sorted(f"{op[0]} {op[1]}" for op in listed - documented.keys())
    assert not missing, "operations with an id and no row in tests/api/matrix/cases.py:\n  " + "\n  ".join(
        missing
    )
    assert not stale, "rows for operations no service documents any more:\n  " + "\n  ".join(stale)
    for case in CASES:
        assert case.allowed <= set(CAST), case.id
        assert case.owner is None or case.owner in case.allowed or case.owner not in CAST, case.id


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_callers_of_another_party_or_role_are_refused_and_change_nothing(world, case):
    path, body = case.resolve(world)
    watch = Watch(world.apps)
    wrong = []
    try:
        for caller in CAST:
            if caller in case.allowed:
                continue
            reply = call(world, case, caller, path, body)
            expected = {401} if caller == "anonymous" else REFUSED
            changed = watch.changes()
            if reply.status_code not in expected or changed:
                note = f", and it changed {', '.join(changed)}" if changed else ""
                wrong.append(f"{caller}: {reply.status_code} {said(reply)}{note}")
    finally:
        watch.close()
    assert not wrong, f"{case.id} on A's object ({case.why}):\n  " + "\n  ".join(wrong)
    if case.owner:
        reply = call(world, case, case.owner, path, body)
        assert reply.status_code == case.expect, (
            f"the owner {case.owner}: {reply.status_code} {reply.text[:300]}"
        )
