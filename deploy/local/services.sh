#!/usr/bin/env bash
# UnionHub's own processes: each service's web API and event worker, and the local fakes of outside
# systems (FAKES in services/registry.py: WeChat's code2session, ...).
#
#   bash deploy/local/services.sh up|down|status
#
# Idempotent like infra.sh: `up` leaves running processes alone. Logs go to var/log/<name>.log.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
drop_inherited_fds

RUN_DIR="$UNIONHUB_HOME/run"
LOG_DIR="$UNIONHUB_HOME/log"
UNIONHUB="$REPO_ROOT/.venv/bin/unionhub"
export UNIONHUB_HOME
# The quick start's bootstrap admin; set your own before the first start on a shared machine.
export UNIONHUB_ADMIN_PASSWORD="${UNIONHUB_ADMIN_PASSWORD:-unionhub-admin}"
export UNIONHUB_PUBLIC_BASE_URL="${UNIONHUB_PUBLIC_BASE_URL:-http://127.0.0.1:${GATEWAY_PORT:-8000}}"
# Where infra.sh put the broker and Redis (its KAFKA_PORT and REDIS_PORT move them): the services
# go there too, unless told otherwise.
export KAFKA_BOOTSTRAP="${KAFKA_BOOTSTRAP:-${KAFKA_HOST:-127.0.0.1}:${KAFKA_PORT:-9092}}"
export REDIS_URL="${REDIS_URL:-redis://${REDIS_HOST:-127.0.0.1}:${REDIS_PORT:-6379}/0}"

# "service <name> <web port> <worker metrics port>" per built service of services/registry.py and
# "fake <name> <port> present|missing" per fake, read once. The registry reads with the system's
# python3 too (as infra.sh reads it): `down` must stop what runs even with the venv gone.
FACTS_PY="$PY"
[[ -x "$FACTS_PY" ]] || FACTS_PY=python3
FACTS="$("$FACTS_PY" "$DEPLOY_DIR/local/registry_facts.py" processes)" \
    || die "could not read services/registry.py with $FACTS_PY"
service_names() { awk '$1 == "service" { print $2 }' <<<"$FACTS"; }
service_fact() { awk -v svc="$1" -v col="$2" '$1 == "service" && $2 == svc { print $(col + 1) }' <<<"$FACTS"; }
# A fake can be registered before its module is written; it is skipped until then.
fake_names() { awk -v state="$1" '$1 == "fake" && (state == "" || $4 == state) { print $2 }' <<<"$FACTS"; }
fake_port() { awk -v name="$1" '$1 == "fake" && $2 == name { print $3 }' <<<"$FACTS"; }

# Web processes exec into gunicorn, workers stay `unionhub worker`: what a live pid must be running.
pattern_for() { [[ "$1" == web:* ]] && echo gunicorn || echo "unionhub worker"; }

# start_process NAME PORT ARGS...: NAME is "web:<svc>", "worker:<svc>" or "web:<fake>".
start_process() {
    local name="$1" port="${2:-}"; shift 2
    local pidfile="$RUN_DIR/${name/:/-}.pid" logfile="$LOG_DIR/${name/:/-}.log" pid
    pid="$(live_pid_from "$pidfile" "$(pattern_for "$name")")"
    if [[ -n "$pid" ]]; then
        log "$name: already running (pid $pid)"
        return 0
    fi
    if [[ -n "$port" ]] && port_open 127.0.0.1 "$port"; then
        die "$name: port $port is taken by another process"
    fi
    setsid nohup "$UNIONHUB" "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$pidfile"
    if [[ -n "$port" ]]; then
        started "$name" "$port" "$pid" || { show_log_tail "$logfile"; stop_process "$name"; die "$name did not start"; }
    else
        sleep 1
        pid_alive "$pid" || { show_log_tail "$logfile"; die "$name exited at start"; }
    fi
    ok "$name: running (pid $pid)"
}

# started NAME PORT PID: its port open and, for a web process, /healthz answered. gunicorn opens its
# socket before a worker imports the app: an app that fails to load would pass the port alone.
started() {
    local name="$1" port="$2" pid="$3" deadline=$(( SECONDS + 60 ))
    wait_for_port "$name" 127.0.0.1 "$port" 60 "$pid" || return 1
    [[ "$name" == web:* ]] || return 0
    until "$FACTS_PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
            "http://127.0.0.1:$port/healthz" 2>/dev/null; do
        pid_alive "$pid" || { log "$name: exited before /healthz answered"; return 1; }
        (( SECONDS < deadline )) || { log "$name: /healthz did not answer in 60s"; return 1; }
        sleep 0.3
    done
}

stop_process() {
    local name="$1" pidfile="$RUN_DIR/${1/:/-}.pid" pid
    pid="$(live_pid_from "$pidfile" "$(pattern_for "$name")")"
    [[ -n "$pid" ]] && stop_pid "$name" "$pid" 30
    rm -f "$pidfile"
}

cmd_up() {
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    local svc port metrics_port fake
    for fake in $(fake_names missing); do
        log "web:$fake: services/fakes/$fake.py does not exist yet, not starting the $fake fake"
    done
    for fake in $(fake_names present); do
        start_process "web:$fake" "$(fake_port "$fake")" serve "$fake" --workers 1
    done
    for svc in $(service_names); do
        port="$(service_fact "$svc" 2)" metrics_port="$(service_fact "$svc" 3)"
        # Schema first: the web process and the worker expect their tables to be there.
        log "$svc: db upgrade"
        "$UNIONHUB" db upgrade "$svc" >>"$LOG_DIR/migrate-$svc.log" 2>&1 </dev/null \
            || { show_log_tail "$LOG_DIR/migrate-$svc.log"; die "$svc: db upgrade failed"; }
        start_process "web:$svc" "$port" serve "$svc"
        # The worker serves its bus metrics (outbox backlog, consumer lag, heartbeats) 1000 above
        # its web port; that the port opens is also how we know the worker is up.
        UNIONHUB_WORKER_METRICS_PORT="$metrics_port" \
            start_process "worker:$svc" "$metrics_port" worker "$svc"
    done
}

cmd_down() {
    local svc fake
    for svc in $(service_names); do
        stop_process "worker:$svc"
        stop_process "web:$svc"
    done
    for fake in $(fake_names ""); do
        stop_process "web:$fake"
    done
}

cmd_status() {
    local rc=0 name pid
    for name in $(for f in $(fake_names present); do echo "web:$f"; done) \
                $(for s in $(service_names); do echo "web:$s worker:$s"; done); do
        pid="$(live_pid_from "$RUN_DIR/${name/:/-}.pid" "$(pattern_for "$name")")"
        if [[ -n "$pid" ]]; then printf '%-20s running  pid=%s\n' "$name" "$pid"
        else printf '%-20s stopped\n' "$name"; rc=1; fi
    done
    return $rc
}

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
