# shellcheck shell=bash
# Shared helpers for deploy/local/*.sh. Source it; do not run it.
#
# Everything here must be safe under `set -euo pipefail` in the caller, and
# must not assume a particular working directory: paths are derived from this
# file's location so the scripts work from anywhere (CI, IDE, cron).

if [[ -n "${_UNIONHUB_LIB_LOADED:-}" ]]; then
    return 0
fi
_UNIONHUB_LIB_LOADED=1

# ---------------------------------------------------------------- paths ----
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
# shellcheck disable=SC2034  # used by the scripts that source this file
DEPLOY_DIR="$REPO_ROOT/deploy"

# State is per checkout (gitignored var/), caches are per user: the Kafka jars
# are ~120 MB and identical for every checkout, so they live outside git.
UNIONHUB_HOME="${UNIONHUB_HOME:-$REPO_ROOT/var}"
UNIONHUB_CACHE="${UNIONHUB_CACHE:-${HOME:-/root}/.cache/unionhub}"
PY="${PY:-$REPO_ROOT/.venv/bin/python}"

# ------------------------------------------------------------- logging ----
# Colour only on a terminal so CI logs stay greppable.
if [[ -t 2 ]]; then
    _C_DIM=$'\e[2m' _C_RED=$'\e[31m' _C_YEL=$'\e[33m' _C_GRN=$'\e[32m' _C_OFF=$'\e[0m'
else
    _C_DIM='' _C_RED='' _C_YEL='' _C_GRN='' _C_OFF=''
fi

log()  { printf '%s[infra]%s %s\n' "$_C_DIM" "$_C_OFF" "$*" >&2; }
ok()   { printf '%s[infra]%s %s%s%s\n' "$_C_DIM" "$_C_OFF" "$_C_GRN" "$*" "$_C_OFF" >&2; }
warn() { printf '%s[infra] WARNING:%s %s\n' "$_C_YEL" "$_C_OFF" "$*" >&2; }
die()  { printf '%s[infra] ERROR:%s %s\n' "$_C_RED" "$_C_OFF" "$*" >&2; exit 1; }

# Print the last lines of a log so a failed start explains itself in CI output.
show_log_tail() {
    local file="$1" lines="${2:-40}"
    if [[ -f "$file" ]]; then
        printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
        tail -n "$lines" "$file" >&2 || true
        printf -- '----- end of %s -----\n' "$file" >&2
    fi
}

# ------------------------------------------------------------ processes ----
# Read a pid file; prints nothing when the file is missing or garbage.
read_pidfile() {
    local pidfile="$1" pid
    [[ -f "$pidfile" ]] || return 0
    pid="$(head -n1 "$pidfile" 2>/dev/null | tr -dc '0-9')"
    [[ -n "$pid" ]] && printf '%s\n' "$pid"
    return 0
}

# pid_alive PID [PATTERN]: true if PID runs and, when PATTERN is given, its
# command line contains it. The pattern guards against a stale pid file whose
# number the kernel has since handed to an unrelated process.
pid_alive() {
    local pid="$1" pattern="${2:-}"
    [[ -n "$pid" ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # A zombie still answers kill -0 but is no longer serving anything.
    if [[ -r "/proc/$pid/stat" ]]; then
        local state
        state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
        [[ "$state" == Z ]] && return 1
    fi
    if [[ -n "$pattern" && -r "/proc/$pid/cmdline" ]]; then
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern" || return 1
    fi
    return 0
}

# Prints the pid from PIDFILE if that process is alive (and matches PATTERN).
live_pid_from() {
    local pidfile="$1" pattern="${2:-}" pid
    pid="$(read_pidfile "$pidfile")"
    if pid_alive "$pid" "$pattern"; then
        printf '%s\n' "$pid"
    fi
    return 0
}

# wait_pid_exit PID TIMEOUT_SECONDS: true once PID is gone.
wait_pid_exit() {
    local pid="$1" timeout="$2" waited=0
    while pid_alive "$pid"; do
        (( waited >= timeout * 10 )) && return 1
        sleep 0.1
        waited=$(( waited + 1 ))
    done
    return 0
}

# stop_pid NAME PID [GRACE_SECONDS]: SIGTERM, wait, then SIGKILL as last resort.
stop_pid() {
    local name="$1" pid="$2" grace="${3:-30}"
    pid_alive "$pid" || return 0
    log "$name: sending SIGTERM to pid $pid (waiting up to ${grace}s)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_pid_exit "$pid" "$grace"; then
        warn "$name: pid $pid still alive after ${grace}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_pid_exit "$pid" 10 || die "$name: pid $pid survived SIGKILL"
    fi
}

# --------------------------------------------------------------- network ----
# port_open HOST PORT: true if something accepts TCP connections there.
# Uses bash's /dev/tcp so it needs neither nc nor ss.
port_open() {
    local host="$1" port="$2"
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

# wait_for_port NAME HOST PORT TIMEOUT [PID]: poll until the port accepts
# connections. With PID, give up early when that process dies, so a crashing
# service fails in a second instead of after the whole timeout.
wait_for_port() {
    local name="$1" host="$2" port="$3" timeout="$4" pid="${5:-}"
    local deadline=$(( SECONDS + timeout ))
    while ! port_open "$host" "$port"; do
        if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
            log "$name: process $pid exited before $host:$port opened"
            return 1
        fi
        if (( SECONDS >= deadline )); then
            log "$name: $host:$port not open after ${timeout}s"
            return 1
        fi
        sleep 0.2
    done
    return 0
}

# Pid of the process listening on a local TCP port, if ss can tell us.
listener_pid() {
    local port="$1"
    command -v ss >/dev/null 2>&1 || return 0
    ss -Hltnp "sport = :$port" 2>/dev/null \
        | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2 || true
}

# ----------------------------------------------------------- templating ----
# render_template SRC DEST VAR...: substitute only the listed ${VAR}s, so the
# $variables that nginx and others use themselves survive. Writes atomically
# and prints "changed" when DEST's content differs from before.
render_template() {
    local src="$1" dest="$2"; shift 2
    local names="" v tmp
    for v in "$@"; do
        [[ -n "${!v+x}" ]] || die "render_template: \$$v is not set (rendering $src)"
        export "${v?}"
        names+="\${$v} "
    done
    tmp="$(mktemp "${dest}.XXXXXX")"
    # A failed envsubst (not installed) must not put an empty file in place of the config.
    envsubst "$names" <"$src" >"$tmp" || { rm -f "$tmp"; return 1; }
    if [[ -f "$dest" ]] && cmp -s "$tmp" "$dest"; then
        rm -f "$tmp"
    else
        chmod 0644 "$tmp"
        mv -f "$tmp" "$dest"
        echo changed
    fi
}

# --------------------------------------------------------------- system ----
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root to run: $* (run as root or install sudo)"
    fi
}

# Highest installed PostgreSQL server bin dir, e.g. /usr/lib/postgresql/15/bin.
# PG_BIN overrides it for machines with several majors installed.
find_pg_bin() {
    if [[ -n "${PG_BIN:-}" ]]; then
        if [[ -x "$PG_BIN/pg_ctl" ]]; then printf '%s\n' "$PG_BIN"; fi
        return 0
    fi
    local d
    # Sort on the major number: a plain glob would put 10 before 9.
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/pg_ctl" && -x "$d/initdb" ]] || continue
        printf '%s %s\n' "$(basename "$(dirname "$d")")" "$d"
    done | sort -n | tail -n1 | cut -d' ' -f2-
    return 0
}

# True if `java` (or $JAVA) is version 17 or newer.
java_major_ok() {
    local java="${JAVA:-java}" ver major
    command -v "$java" >/dev/null 2>&1 || return 1
    ver="$("$java" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
    major="${ver%%.*}"
    [[ "$major" == 1 ]] && major="$(cut -d. -f2 <<<"$ver")"
    [[ "$major" =~ ^[0-9]+$ ]] && (( major >= 17 ))
}

# Map "something we need" -> Debian package, checked without apt so a machine
# that has everything never touches the network.
_need_pkg() {
    local what="$1"
    case "$what" in
        postgresql)   [[ -n "$(find_pg_bin)" ]] ;;
        redis-server) command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 ;;
        nginx)        command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] ;;
        zbar-tools)   command -v zbarimg >/dev/null 2>&1 ;;
        libzbar0)     dpkg-query -W -f='${Status}' libzbar0 2>/dev/null | grep -q 'install ok installed' ;;
        gettext-base) command -v envsubst >/dev/null 2>&1 ;;
        # Kafka 4.x brokers need Java 17+; Debian's default JRE is 17 on
        # bookworm and newer on later releases.
        default-jre-headless) java_major_ok ;;
        maven)        command -v mvn >/dev/null 2>&1 ;;
        *)            dpkg-query -W -f='${Status}' "$what" 2>/dev/null | grep -q 'install ok installed' ;;
    esac
}

# apt_install_missing PKG...: install only what is absent, non-interactively.
apt_install_missing() {
    local missing=() p
    for p in "$@"; do
        _need_pkg "$p" || missing+=("$p")
    done
    if (( ${#missing[@]} == 0 )); then
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "missing: ${missing[*]} and no apt-get here; install them by hand"
    log "apt: installing ${missing[*]}"

    # Debian starts services from postinst (a system redis on 6379, nginx on
    # 80, a postgres cluster on 5432). We run our own instances, so forbid that
    # for the duration of the install, the way container images do.
    local policy=/usr/sbin/policy-rc.d added_policy=""
    if [[ ! -e "$policy" ]]; then
        as_root sh -c "printf '#!/bin/sh\nexit 101\n' >'$policy' && chmod 0755 '$policy'"
        added_policy=1
        # Interrupted (Ctrl-C, a CI timeout), the file must not stay: it would keep every later
        # package's service from starting on this machine.
        trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT
        trap 'as_root rm -f /usr/sbin/policy-rc.d; exit 130' INT TERM
    fi

    # A machine just booted often has unattended-upgrades holding the dpkg lock: wait for it.
    local rc=0 lock=(-o DPkg::Lock::Timeout=600)
    {
        as_root env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" update -q \
        && as_root env DEBIAN_FRONTEND=noninteractive apt-get "${lock[@]}" install -y -q \
               --no-install-recommends \
               -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
               "${missing[@]}"
    } || rc=$?

    if [[ -n "$added_policy" ]]; then
        as_root rm -f "$policy"
        trap - EXIT INT TERM
    fi
    (( rc == 0 )) || die "apt-get install ${missing[*]} failed (exit $rc)"

    for p in "${missing[@]}"; do
        _need_pkg "$p" || die "apt installed $p but it is still not usable"
    done
}

# Make every directory from / down to DIR traversable (o+x) so a service
# running as another user (postgres) can reach its data dir. Only adds the
# search bit, never read, and says which directories it touched.
ensure_traversable() {
    local dir="$1" path="" part
    local IFS=/
    for part in $dir; do
        [[ -z "$part" ]] && continue
        path+="/$part"
        if [[ -d "$path" ]] && [[ "$(stat -c %A "$path")" != ?????????[xt] ]]; then
            warn "adding o+x to $path so the postgres user can reach its data"
            as_root chmod o+x "$path"
        fi
    done
}

# ---------------------------------------------------------------- locking ----
# Close every descriptor the script inherited beyond stdin, stdout and stderr (255 is bash's own, on the
# script it reads). The daemons it starts would keep them open for as long as they run: a lock that
# `flock LOCK bash <script>` holds for the script alone would be held by the running services, and
# every later `flock LOCK` would wait for them forever.
drop_inherited_fds() {
    local fd
    for fd in /proc/$$/fd/*; do
        fd="${fd##*/}"
        if (( fd > 2 && fd != 255 )); then
            eval "exec $fd>&-"
        fi
    done
}

# Serialise concurrent infra.sh runs (parallel CI steps, a human and a test
# runner) so two `up`s cannot both decide to start the same service.
# Daemons started while the lock is held must be launched with `9>&-`, or they
# inherit the descriptor and keep the lock for their whole life.
take_lock() {
    mkdir -p "$UNIONHUB_HOME"
    exec 9>"$UNIONHUB_HOME/.infra.lock"
    if ! flock -w 300 9; then
        die "another infra.sh holds $UNIONHUB_HOME/.infra.lock for more than 300s"
    fi
}
