"""Fuzzing every operation of every built service against its own OpenAPI document, as every role.

One test item per (service, role, operation), in that order, so a failure names all three and
``-k`` picks any slice (``pytest tests/fuzz -k "admin and staff"``). The whole module is marked
``fuzz``: ``pytest tests/fuzz`` or ``-m fuzz`` runs it alone, ``-m "not fuzz"`` leaves it out.

Two knobs, both from the environment:

``UNIONHUB_FUZZ_EXAMPLES``  generated inputs per item at most (default 250), after schemathesis's
                            coverage cases (bounds, missing fields, wrong types)
``UNIONHUB_FUZZ_SECONDS``   the time all fuzzing items share (default 150); an item may use what
                            is left but a minimum kept for each item after it

Generation is derandomized (a fixed seed per operation), so a CI failure reproduces locally; only on
a machine too slow to try every input within the time does an item stop earlier, and then the run
still ends near the budget. This 2-core machine runs the module in about 2 minutes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask_smorest import Api

from services.registry import SERVICES

from .bed import ROLES, fuzz_bed

EXAMPLES = int(os.environ.get("UNIONHUB_FUZZ_EXAMPLES", "250"))
SECONDS = float(os.environ.get("UNIONHUB_FUZZ_SECONDS", "150"))
MIN_SHARE = 0.3  # seconds kept for each item still to run: past the deadline it tries a few inputs

_hypothesis_home: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: schemathesis over every service's OpenAPI (tests/fuzz)")
    # Hypothesis would otherwise leave a .hypothesis directory in the working tree.
    from hypothesis import configuration

    _hypothesis_home.append(tempfile.mkdtemp(prefix="unionhub-hypothesis-"))
    configuration.set_hypothesis_home_dir(_hypothesis_home[-1])


def pytest_unconfigure(config: pytest.Config) -> None:
    for directory in _hypothesis_home:
        shutil.rmtree(directory, ignore_errors=True)


# --- what to fuzz, known at collection ----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    service: str
    role: str
    method: str
    path: str

    @property
    def id(self) -> str:
        return f"{self.service}-{self.role}-{self.method} {self.path}"


def documented_operations(name: str) -> list[tuple[str, str]]:
    """(method, path) of each operation in service ``name``'s OpenAPI document, reads first (so a
    role's writes, an erasure or a revocation, come after the reads that need the seed intact).

    Read from the service's blueprints on a bare app: building the real one needs a database and
    secrets, which collection should not create. test_every_operation_is_fuzzed checks the two agree.
    """
    from services.common import kit

    app = Flask(f"fuzz-spec-{name}")
    app.config.update(API_TITLE=name, API_VERSION="v1", OPENAPI_VERSION="3.1.0")
    api = Api(app)
    for blueprint in kit.service(name).part("api"):
        api.register_blueprint(blueprint)
    operations = [
        (method.upper(), path)
        for path, item in api.spec.to_dict()["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch", "head", "options")
    ]
    return sorted(operations, key=lambda op: op[0] != "GET")  # stable: document order otherwise


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        targets = [
            Target(service, role, method, path)
            for service in SERVICES
            for role in ROLES
            for method, path in documented_operations(service)
        ]
        metafunc.parametrize("target", targets, ids=[t.id for t in targets])
    if "service" in metafunc.fixturenames:
        metafunc.parametrize("service", list(SERVICES))


# --- the bed and the clock ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bed(tmp_path_factory, redis_client):
    """Every built service with its roles and seed, shared by the module's items. Module-scoped so
    that its patches (cheap password hashing, UNIONHUB_HOME) end before the rest of the suite."""
    directory = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UNIONHUB_HOME", str(directory))  # generated secrets land here, not in var/
        redis_client.flushdb()
        try:
            with fuzz_bed(directory) as built:
                _TALLY.notes = built.notes + [
                    f"{role} not fuzzed: {why}" for role, why in built.missing.items()
                ]
                yield built
        finally:
            redis_client.flushdb()


@dataclass
class Budget:
    seconds: float
    items: int
    deadline: float | None = None

    def stop_at(self) -> float:
        """When the calling item must stop: all the time left but a minimum for each item after
        it. On a machine fast enough no item reaches it, and every run tries the same inputs."""
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.seconds
            _TALLY.started = now  # the summary's time is the fuzzing's, not the whole session's
        self.items = max(self.items - 1, 0)
        return max(self.deadline - self.items * MIN_SHARE, now + MIN_SHARE)


@pytest.fixture(scope="session")
def budget(request) -> Budget:
    items = sum(1 for item in request.session.items if "target" in getattr(item, "fixturenames", ()))
    return Budget(SECONDS, items)


# --- what the run found, summed up at the end -------------------------------------------------------


@dataclass
class Tally:
    started: float = field(default_factory=time.monotonic)
    requests: int = 0
    items: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the seed went, when it did not go as planned


_TALLY = Tally()


@pytest.fixture(scope="session")
def tally() -> Tally:
    return _TALLY


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _TALLY.items:
        return
    seconds = time.monotonic() - _TALLY.started
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(_TALLY.statuses.items()))
    terminalreporter.section("fuzz")
    terminalreporter.write_line(
        f"{_TALLY.requests} requests over {_TALLY.items} (service, role, operation) items "
        f"in {seconds:.0f} s; statuses {statuses}"
    )
    for line in _TALLY.notes:
        terminalreporter.write_line(f"seed: {line}")
    for line in _TALLY.failures:
        terminalreporter.write_line(f"FAILED {line}")
