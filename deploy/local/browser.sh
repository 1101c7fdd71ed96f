#!/usr/bin/env bash
# The headless browser the browser test tier (tests/browser, docs/web.md) drives: Debian's
# chromium and chromium-driver, and a Chinese font (fonts-wqy-microhei) so that the pages' zh-CN
# text renders as characters, not boxes, in the screenshots under docs/screenshots/. Installed from
# apt when missing; nothing is downloaded at test time. test.sh runs it; running it again with all
# installed does nothing and touches no network.
#
#   bash deploy/local/browser.sh
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# WenQuanYi Micro Hei rather than Noto CJK: 1.6 MB to fetch instead of 57 MB, and it covers every
# character the pages use.
PACKAGES=(chromium chromium-driver fonts-wqy-microhei)

installed() {
    command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 \
        && dpkg-query -W -f='${Status}' fonts-wqy-microhei 2>/dev/null | grep -q 'install ok installed'
}

# Checked before taking the lock, so the common case costs three lookups.
if installed; then
    exit 0
fi
take_lock   # one apt run at a time with infra.sh install
apt_install_missing "${PACKAGES[@]}"
ok "browser: $(chromium --version 2>/dev/null), $(chromedriver --version 2>/dev/null | cut -d' ' -f1-2), $(fc-list :lang=zh family | head -1)"
