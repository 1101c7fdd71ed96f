# shellcheck shell=bash
# The project's virtualenv: created on first use, reinstalled when pyproject.toml or constraints.txt
# (the exact versions installed) changes.
# Source after lib.sh.

ensure_venv() {
    local venv="$REPO_ROOT/.venv" stamp hash
    stamp="$venv/.unionhub-installed"
    hash="$(cat "$REPO_ROOT/pyproject.toml" "$REPO_ROOT/constraints.txt" | sha256sum | cut -c1-16)"
    if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
        return 0
    fi
    command -v python3 >/dev/null || die "python3 (3.11 or newer) is needed"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "python3 must be 3.11 or newer"
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        apt_install_missing python3-venv
    fi
    log "python: installing the project and its dependencies into .venv"
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -c "$REPO_ROOT/constraints.txt" -e "$REPO_ROOT[dev]"
    printf '%s\n' "$hash" >"$stamp"
}
