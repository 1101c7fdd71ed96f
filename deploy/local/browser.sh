#!/usr/bin/env bash
# The headless browser the browser test tier (tests/browser, docs/web.md) drives: Debian's
# chromium and chromium-driver, installed from apt when missing. Nothing is downloaded at test
# time. test.sh runs it; running it again with both installed does nothing and touches no network.
#
#   bash deploy/local/browser.sh
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Checked before taking the lock, so the common case costs two lookups.
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
take_lock   # one apt run at a time with infra.sh install
apt_install_missing chromium chromium-driver
ok "browser: $(chromium --version 2>/dev/null), $(chromedriver --version 2>/dev/null | cut -d' ' -f1-2)"
