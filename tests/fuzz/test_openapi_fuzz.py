"""Schemathesis against every operation of every built service, as every role (see conftest.py).

What fails an item:

* any 5xx;
* a 2xx or 3xx the operation does not document, or one whose content type, headers or body do not
  match the documented response;
* a 4xx whose documented response (its own status, or ``default``) describes problem+json, when the
  answer does not match it.

A 4xx the operation does not document is accepted: flask-smorest documents only the 422 of
``@arguments`` and a generic ``default``, never the 401/403/404/409/410/429 the views raise, so
refusing bad input or a caller without rights is the expected answer, not a contract break. While
the documented error responses are flask-smorest's generic ``Error`` (application/json) instead of
the problem+json every service answers, validating each refusal against them would fail every item
for the same one reason: test_error_answers_are_documented_as_problem_json reports that reason
once, and the items validate error bodies as soon as the document describes them.

Failures do not stop an item: it runs all its inputs and reports each distinct failure (check,
status) once, with the first input that showed it.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NOT_SET
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from services.common.config import REPO_ROOT
from tests.support import PROBLEM

from .conftest import EXAMPLES, documented_operations

pytestmark = pytest.mark.fuzz

# An operation that refused a role (401/403) every one of its first inputs is out of that role's
# reach: more inputs would only exercise the authorization check.
REACH_PROBE = 10
REFUSED = (401, 403)
PUBLIC_AS_ROLE = 20  # inputs for an operation without security, as a role with a token
CONFORMANCE = [content_type_conformance, response_headers_conformance, response_schema_conformance]


class _Enough(BaseException):
    """Ends a Hypothesis run early (time share spent, or the role cannot reach the operation).
    Not an Exception, so Hypothesis passes it on instead of recording and replaying a failure."""


@dataclass
class Found:
    title: str
    status: int
    first: str  # the first input that showed it, and what came back
    count: int = 1


@dataclass
class Outcome:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    found: dict[tuple, Found] = field(default_factory=dict)

    def add(self, title: str, status: int, case, response, logged: list[str]) -> None:
        key = (title, status)
        if key in self.found:
            self.found[key].count += 1
            return
        self.found[key] = Found(title, status, describe(case, response, logged))

    def out_of_reach(self) -> bool:
        return self.requests >= REACH_PROBE and set(self.statuses) <= set(REFUSED)


ROOT = str(REPO_ROOT)


class _Logged(logging.Handler):
    """The exceptions the service logged while answering: a 500's body says only internal_error."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            seen = f"{error.__class__.__module__}.{error.__class__.__name__}: {error}"[:300]
            frames = traceback.extract_tb(error.__traceback__)
            # The innermost frame of the project's own code says where to look, not the library's.
            own = [f for f in frames if f.filename.startswith(ROOT) and "site-packages" not in f.filename]
            if own or frames:
                frame = (own or frames)[-1]
                seen += f" at {os.path.relpath(frame.filename, REPO_ROOT)}:{frame.lineno}"
            self.seen.append(seen)


def describe(case, response, logged: list[str]) -> str:
    lines = [f"{case.method} {case.formatted_path}"]
    if case.query:
        lines.append(f"  query:   {case.query!r}")
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    if headers:
        lines.append(f"  headers: {headers!r}")
    if case.body is not NOT_SET:
        lines.append(f"  body:    {case.body!r}"[:600])
    if response is not None:
        text = response.content.decode("utf-8", "replace") if response.content else ""
        lines.append(f"  -> {response.status_code} {_content_type(response)}")
        if text:
            lines.append(f"     {text[:400]}")
    lines += [f"  logged:  {entry}" for entry in logged[:2]]
    return "\n".join(lines)


def _content_type(response) -> str:
    return (response.headers.get("content-type") or [""])[0]


def _documents(operation, status: int, *, default: bool) -> bool:
    documented = {str(s).upper() for s in operation.responses.status_codes}
    return (
        str(status) in documented
        or f"{status // 100}XX" in documented
        or (default and "DEFAULT" in documented)
    )


def _documented_as_problem(schema, operation, response) -> bool:
    types = schema.get_content_types(operation, response)
    return bool(types) and all(t.split(";")[0].strip().endswith("problem+json") for t in types)


def checks_for(schema, operation, response) -> tuple[list, str | None]:
    """The checks an answer must pass, and a failure found without schemathesis's help."""
    status = response.status_code
    if status >= 500:
        return [not_a_server_error], None
    if status < 400:
        if not _documents(operation, status, default=False):
            return [], "Undocumented success status"
        return CONFORMANCE, None
    if _documents(operation, status, default=True) and _documented_as_problem(schema, operation, response):
        return CONFORMANCE, None
    return [], None


def real_values(values: dict) -> st.SearchStrategy[dict]:
    """For each field name the seed knows (a unit, campaign or member id, a campaign code, a card
    code), a real value about half the time: random ids only ever meet 404. Drawn with the case,
    before the test body, so a replay of an input draws exactly what the first run drew."""
    return st.fixed_dictionaries(
        {name: st.one_of(st.none(), st.sampled_from(choices)) for name, choices in values.items()}
    )


def use_real_values(case, picks: dict) -> None:
    containers = [case.path_parameters, case.query]
    if isinstance(case.body, dict):
        containers.append(case.body)
    for container in containers:
        for name in container or ():
            if (value := picks.get(name)) is not None:
                container[name] = value() if callable(value) else value


def coverage_cases(schema, operation) -> list:
    """Schemathesis's coverage phase: each parameter and field at its documented bounds, missing,
    of the wrong type; deterministic, a few dozen an operation, and what random inputs hit last."""
    config = schema.config.generation_for(operation=operation, phase="coverage")
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    cases = schema.iter_coverage_cases(operation, generation_modes=modes, generation_config=config)
    # Its probes with other methods (OPTIONS, TRACE...) meet Flask's routing, the same for every
    # operation and role: 405, or Flask's automatic OPTIONS answer.
    return [case for case in cases if case.method.upper() == operation.method.upper()]


def fuzz(
    schema, operation, headers: dict, values: dict, *, examples: int, coverage: bool, stop_at: float
) -> Outcome:
    outcome = Outcome()
    root = logging.getLogger()

    def enough() -> bool:
        return time.monotonic() > stop_at or outcome.out_of_reach()

    def attempt(case) -> None:
        if headers:
            case.headers = {**(case.headers or {}), **headers}
        # Without a role the generated Authorization header (garbage, or none) stays.
        logged = _Logged()
        root.addHandler(logged)
        try:
            response = case.call()
        except Exception as error:  # the app raised through the test client: a 500 in production
            outcome.requests += 1
            outcome.statuses[500] += 1
            outcome.add(f"Exception {error.__class__.__name__}", 500, case, None, [repr(error)[:300]])
            return
        finally:
            root.removeHandler(logged)
        outcome.requests += 1
        outcome.statuses[response.status_code] += 1
        checks, own = checks_for(schema, operation, response)
        if own:
            outcome.add(own, response.status_code, case, response, logged.seen)
        if not checks:
            return
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as group:
            for failure in group.exceptions:
                outcome.add(_title(failure), response.status_code, case, response, logged.seen)
        except Failure as failure:
            outcome.add(_title(failure), response.status_code, case, response, logged.seen)

    for case in coverage_cases(schema, operation) if coverage else ():
        if enough():
            return outcome
        attempt(case)

    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],  # no shrinking: the body never fails, it records
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=strategy, picks=real_values(values))
    def run(case, picks):
        if enough():
            raise _Enough
        use_real_values(case, picks)
        attempt(case)

    if examples:
        try:
            run()
        except _Enough:
            pass
    return outcome


def _secured(schema, operation) -> bool:
    security = operation.definition.raw.get("security", schema.raw_schema.get("security"))
    return bool(security)


def _title(failure: Failure) -> str:
    detail = (failure.message or "").strip().splitlines()
    return f"{failure.title}: {detail[0]}" if detail else failure.title


# --- the tests -----------------------------------------------------------------------------------------


def test_operation(target, bed, budget, tally):
    """Every operation of every service, as every role: no 5xx, answers as documented."""
    if target.role in bed.missing:
        pytest.skip(bed.missing[target.role])
    schema = bed.schemas[target.service]
    operation = schema[target.path][target.method]
    if tally.items == 0:
        tally.started = time.monotonic()
    # A public operation answers every caller alike: fuzzed in full without credentials, it is only
    # checked with a few inputs as each role, and the time goes where a token opens more code.
    full = target.role == "anonymous" or _secured(schema, operation)
    outcome = fuzz(
        schema,
        operation,
        bed.headers[target.role],
        bed.values,
        examples=EXAMPLES if full else PUBLIC_AS_ROLE,
        coverage=full,
        stop_at=budget.stop_at(),
    )
    tally.items += 1
    tally.requests += outcome.requests
    tally.statuses.update(outcome.statuses)
    problems = []
    for n, found in enumerate(outcome.found.values(), 1):
        seen = f"{found.count} of {outcome.requests} requests"
        problems.append(f"{n}. {found.title} (status {found.status}, {seen})\n{found.first}")
        tally.failures.append(f"{target.id} as {target.role}: {found.title} (status {found.status})")
    statuses = dict(sorted(outcome.statuses.items()))
    assert not problems, (
        f"{target.method} {target.path} of {target.service} as {target.role}: "
        f"{len(problems)} distinct failure(s) in {outcome.requests} requests {statuses}\n\n"
        + "\n\n".join(problems)
    )


def test_every_operation_is_fuzzed(service, bed):
    """The operations collected from the blueprints are those of the app that is fuzzed."""
    served = {(r.ok().method.upper(), r.ok().path) for r in bed.schemas[service].get_all_operations()}
    assert served == set(documented_operations(service))


def test_error_answers_are_documented_as_problem_json(service, bed):
    """Every service answers errors as RFC 9457 problem+json (services/common/errors.py); its
    document must say so for every error response it lists, or no client can rely on it, and the
    fuzz items cannot check a refusal's body against it."""
    schema = bed.schemas[service]
    document = bed.apps[service].test_client().get("/openapi.json").get_json()
    wrong = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for status, answer in op["responses"].items():
                if not (status == "default" or status[0] in "45"):
                    continue
                content = _resolve(document, answer).get("content", {})
                if set(content) != {PROBLEM}:
                    wrong.append(f"{method.upper()} {path} {status}: {sorted(content) or 'no content'}")
    # One real refusal, checked against what the document promises for it.
    secured = [
        r.ok()
        for r in schema.get_all_operations()
        if r.ok().definition.raw.get("security") and r.ok().method.upper() == "GET" and "{" not in r.ok().path
    ]
    seen = ""
    if secured:
        case = secured[0].Case()
        response = case.call()
        try:
            case.validate_response(response, checks=CONFORMANCE)
        except FailureGroup as group:
            wrong += [
                f"{case.method} {case.path} answered anonymously: {_title(f)}" for f in group.exceptions
            ]
        seen = f"\nan anonymous {case.method} {case.path} answered: {response.status_code} "
        seen += f"{_content_type(response)} {response.content[:300].decode('utf-8', 'replace')}"
    kinds = Counter(line.split(": ", 1)[-1] for line in wrong)
    assert not wrong, (
        f"{service}: {len(wrong)} error responses are documented otherwise than as {PROBLEM} "
        f"({', '.join(f'{n} as {kind}' for kind, n in kinds.items())}), e.g.\n  "
        + "\n  ".join(wrong[:6])
        + seen
    )


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        target = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node
