# shellcheck shell=bash
# The JS and CSS the services serve themselves: swagger-ui for each /docs, and for the web pages
# (services/web, docs/web.md) qrcode-generator, jsQR and Chart.js; and, as a devDependency, axe-core,
# which the browser tests put on the pages to check them and no page serves. npm packages pinned in
# deploy/web/package-lock.json, installed into deploy/web/node_modules, reinstalled when the lock
# changes. No page loads anything from a CDN. Source after lib.sh.

ensure_web_assets() {
    local web="$REPO_ROOT/deploy/web" stamp hash
    stamp="$web/node_modules/.unionhub-installed"
    hash="$(sha256sum "$web/package-lock.json" | cut -c1-16)"
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
        return 0
    fi
    command -v npm >/dev/null 2>&1 || apt_install_missing nodejs npm
    log "web assets: installing deploy/web's npm packages"
    # --ignore-scripts: the packages are plain files; no install script runs (one would report
    # the install to its publisher).
    npm ci --prefix "$web" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
    printf '%s\n' "$hash" >"$stamp"
}
