#!/usr/bin/env bash
# Stop UnionHub's processes and the local infrastructure. Data under var/ is kept.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
bash "$here/services.sh" down
bash "$here/infra.sh" down
