#!/usr/bin/env bash
# UnionHub's own processes: each service's web API and event worker, and the local WeChat fake.
#
#   bash deploy/local/services.sh up|down|status
#
# Idempotent like infra.sh: `up` leaves running processes alone. Logs go to var/log/<name>.log.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN_DIR="$UNIONHUB_HOME/run"
LOG_DIR="$UNIONHUB_HOME/log"
UNIONHUB="$REPO_ROOT/.venv/bin/unionhub"
export UNIONHUB_HOME
# The quick start's bootstrap admin; set your own before the first start on a shared machine.
export UNIONHUB_ADMIN_PASSWORD="${UNIONHUB_ADMIN_PASSWORD:-unionhub-admin}"
export UNIONHUB_PUBLIC_BASE_URL="${UNIONHUB_PUBLIC_BASE_URL:-http://127.0.0.1:${GATEWAY_PORT:-8000}}"

# "<name> <web port> <worker metrics port>" per built service of services/registry.py, read once.
SERVICE_FACTS="$("$PY" "$DEPLOY_DIR/local/registry_facts.py" services)" \
    || die "could not read services/registry.py with $PY"
service_names() { cut -d' ' -f1 <<<"$SERVICE_FACTS"; }
service_fact() { awk -v svc="$1" -v col="$2" '$1 == svc { print $col }' <<<"$SERVICE_FACTS"; }

# Web processes exec into gunicorn, workers stay `unionhub worker`: what a live pid must be running.
pattern_for() { [[ "$1" == web:* ]] && echo gunicorn || echo "unionhub worker"; }

# start_process NAME PORT ARGS...: NAME is "web:<svc>", "worker:<svc>" or "web:wechat".
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
        wait_for_port "$name" 127.0.0.1 "$port" 60 "$pid" || { show_log_tail "$logfile"; die "$name did not start"; }
    else
        sleep 1
        pid_alive "$pid" || { show_log_tail "$logfile"; die "$name exited at start"; }
    fi
    ok "$name: running (pid $pid)"
}

stop_process() {
    local name="$1" pidfile="$RUN_DIR/${1/:/-}.pid" pid
    pid="$(live_pid_from "$pidfile" "$(pattern_for "$name")")"
    [[ -n "$pid" ]] && stop_pid "$name" "$pid" 30
    rm -f "$pidfile"
}

cmd_up() {
    mkdir -p "$RUN_DIR" "$LOG_DIR"
    start_process web:wechat 8199 serve wechat --workers 1
    local svc port metrics_port
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
    for svc in $(service_names); do
        stop_process "worker:$svc"
        stop_process "web:$svc"
    done
    stop_process web:wechat
}

cmd_status() {
    local rc=0 name pid
    for name in web:wechat $(for s in $(service_names); do echo "web:$s worker:$s"; done); do
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
