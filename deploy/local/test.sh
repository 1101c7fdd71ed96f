#!/usr/bin/env bash
# Run the full test suite: lint, unit, API, integration (real Kafka, Redis, PostgreSQL) and
# end-to-end tests through the gateway. Installs and starts whatever is missing first.
# Extra arguments go to pytest, e.g. `bash deploy/local/test.sh tests/unit -x`.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/local/python.sh
source "$DEPLOY_DIR/local/python.sh"

ensure_venv
bash "$DEPLOY_DIR/local/infra.sh" install
bash "$DEPLOY_DIR/local/infra.sh" up
bash "$DEPLOY_DIR/local/services.sh" up
"$REPO_ROOT/.venv/bin/unionhub" seed

cd "$REPO_ROOT"
.venv/bin/ruff check .
# Integration tests fail, not skip, when the infrastructure is missing.
UNIONHUB_REQUIRE_INFRA=1 .venv/bin/pytest -q "$@"
