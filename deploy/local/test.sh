#!/usr/bin/env bash
# Run the full test suite: lint, unit, API, integration (real Kafka, Redis, PostgreSQL) and
# end-to-end tests through the gateway. Starts the whole system first, as up.sh does (installing
# whatever is missing), because the end-to-end tests run against it.
# Extra arguments go to pytest, e.g. `bash deploy/local/test.sh tests/unit -x`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
repo="$(cd "$here/../.." && pwd -P)"

bash "$here/up.sh"
bash "$here/browser.sh"   # tests/browser drive Debian's headless chromium

cd "$repo"
.venv/bin/ruff check .
# Integration tests fail, not skip, when the infrastructure is missing.
UNIONHUB_REQUIRE_INFRA=1 .venv/bin/pytest -q "$@"
# The whole suite ran the fuzz on SQLite; once more with every service on PostgreSQL, which refuses
# what SQLite stores (tests/fuzz/bed.py). Not when arguments picked the tests to run.
if [ $# -eq 0 ]; then
  UNIONHUB_REQUIRE_INFRA=1 UNIONHUB_FUZZ_DATABASE=postgresql .venv/bin/pytest -q tests/fuzz
fi
