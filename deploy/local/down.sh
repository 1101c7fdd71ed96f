#!/usr/bin/env bash
# Stop UnionHub's processes and the local infrastructure. Data under var/ is kept.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# The infrastructure is stopped even when stopping the services failed; the failure still counts.
rc=0
bash "$here/services.sh" down || rc=$?
bash "$here/infra.sh" down
exit "$rc"
