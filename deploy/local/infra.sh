#!/usr/bin/env bash
# Local infrastructure for UnionHub without containers: Kafka (KRaft, from
# Maven Central jars), Redis, PostgreSQL and the nginx gateway, each as a plain
# process whose state lives under $UNIONHUB_HOME (default <repo>/var).
#
#   bash deploy/local/infra.sh install|up|down|status|restart|kill [kafka|redis|postgres|nginx ...]
#   eval "$(bash deploy/local/infra.sh env)"    # URLs for running services by hand
#   bash deploy/local/infra.sh render-gateway   # the gateway config from services/registry.py
#
# No component means all of them. Every command is idempotent: `up` leaves
# running services alone, `down` of a stopped service is a no-op. `status`
# exits 0 only when every requested component runs. `kill kafka` SIGKILLs the
# broker (for crash tests); `restart` is down + up. See deploy/local/README.md.
set -euo pipefail

# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
drop_inherited_fds

ALL_COMPONENTS=(postgres redis kafka nginx)   # start order; stop is reversed

# ----------------------------------------------------------------- config ----
KAFKA_HOST="${KAFKA_HOST:-127.0.0.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
KAFKA_READY_TIMEOUT="${KAFKA_READY_TIMEOUT:-120}"
JAVA="${JAVA:-java}"

REDIS_HOST="${REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${REDIS_PORT:-6379}"

PG_HOST="${PG_HOST:-127.0.0.1}"
PGPORT="${PGPORT:-55432}"
PG_APP_USER="${PG_APP_USER:-unionhub}"
PG_APP_PASSWORD="${PG_APP_PASSWORD:-unionhub}"
PG_APP_DB="${PG_APP_DB:-unionhub}"

GATEWAY_HOST="${GATEWAY_HOST:-127.0.0.1}"
GATEWAY_PORT="${GATEWAY_PORT:-8000}"

KAFKA_POM="$DEPLOY_DIR/kafka/pom.xml"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n1)"
[[ -n "$KAFKA_VERSION" ]] || die "cannot read <kafka.version> from $KAFKA_POM"
KAFKA_LIBS="$UNIONHUB_CACHE/kafka-$KAFKA_VERSION/libs"
KAFKA_LIBS_MARKER="$KAFKA_LIBS/.unionhub-complete"

KAFKA_HOME_DIR="$UNIONHUB_HOME/kafka"
KAFKA_DATA_DIR="$KAFKA_HOME_DIR/data"
KAFKA_LOG_DIR="$KAFKA_HOME_DIR/logs"
KAFKA_PROPS="$KAFKA_HOME_DIR/server.properties"
KAFKA_PIDFILE="$KAFKA_HOME_DIR/kafka.pid"
KAFKA_CLUSTER_ID_FILE="$KAFKA_HOME_DIR/cluster.id"
KAFKA_OUT="$KAFKA_LOG_DIR/server.out"

REDIS_DIR="$UNIONHUB_HOME/redis"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

PG_DIR="$UNIONHUB_HOME/pg"
PG_DATA="$PG_DIR/data"
PG_RUN="$PG_DIR/run"
PG_LOG="$PG_DIR/postgres.log"

NGINX_HOME_DIR="$UNIONHUB_HOME/nginx"
NGINX_CONF="$NGINX_HOME_DIR/gateway.conf"
NGINX_PIDFILE="$NGINX_HOME_DIR/nginx.pid"
NGINX_ERROR_LOG="$NGINX_HOME_DIR/error.log"
NGINX_TEMPLATE="$DEPLOY_DIR/nginx/gateway.conf.tmpl"

# events.admin reads KAFKA_BOOTSTRAP; derive it from our ports so a changed
# KAFKA_PORT is checked where the broker really listens.
export KAFKA_BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT"

pg_url() {
    printf 'postgresql+psycopg://%s:%s@%s:%s/%s\n' \
        "$PG_APP_USER" "$PG_APP_PASSWORD" "$PG_HOST" "$PGPORT" "$PG_APP_DB"
}

# ================================================================= kafka ====
kafka_libs_ready() {
    [[ -f "$KAFKA_LIBS_MARKER" ]] \
        && [[ "$(cat "$KAFKA_LIBS_MARKER")" == "$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)" ]] \
        && compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null
}

kafka_install() {
    apt_install_missing default-jre-headless maven
    if kafka_libs_ready; then
        log "kafka: jars for $KAFKA_VERSION already in $KAFKA_LIBS"
        return 0
    fi
    log "kafka: fetching Kafka $KAFKA_VERSION jars with Maven into $KAFKA_LIBS"
    # Copy into a scratch dir and swap it in, so an interrupted download never
    # leaves a half-filled libs dir that looks complete.
    local parent tmp
    parent="$(dirname "$KAFKA_LIBS")"
    mkdir -p "$parent"
    tmp="$(mktemp -d "$parent/libs.tmp.XXXXXX")"
    if ! mvn -q -B -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
            -DoutputDirectory="$tmp" -DincludeScope=runtime </dev/null >"$parent/mvn.log" 2>&1; then
        rm -rf "$tmp"
        show_log_tail "$parent/mvn.log"
        die "kafka: Maven could not resolve $KAFKA_POM"
    fi
    compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "kafka: no kafka_2.13 jar after Maven ran"; }
    sha256sum "$KAFKA_POM" | cut -d' ' -f1 >"$tmp/.unionhub-complete"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
    ok "kafka: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $KAFKA_LIBS"
}

kafka_pid() { live_pid_from "$KAFKA_PIDFILE" kafka.Kafka; }

# Run a Kafka CLI class from the cached jars. slf4j-simple logs to stderr, so
# stdout carries only the tool's own answer.
kafka_tool() {
    "$JAVA" -Xmx256m -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
        -cp "$KAFKA_LIBS/*" "$@"
}

kafka_cluster_id() {
    # The formatted data dir is the source of truth: reusing its id keeps an
    # accidentally deleted cluster.id from making the data unreadable.
    if [[ -f "$KAFKA_DATA_DIR/meta.properties" ]]; then
        sed -n 's/^cluster\.id=//p' "$KAFKA_DATA_DIR/meta.properties"
        return 0
    fi
    if [[ ! -s "$KAFKA_CLUSTER_ID_FILE" ]]; then
        local id
        id="$(kafka_tool kafka.tools.StorageTool random-uuid | tail -n1 | tr -d '[:space:]')"
        [[ "$id" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "kafka: StorageTool random-uuid returned '$id'"
        printf '%s\n' "$id" >"$KAFKA_CLUSTER_ID_FILE"
        log "kafka: new cluster id $id"
    fi
    tr -d '[:space:]' <"$KAFKA_CLUSTER_ID_FILE"
}

kafka_render_config() {
    local changed
    # errexit is off inside $(...): the assignment's status is the render's, checked here.
    changed="$(render_template "$DEPLOY_DIR/kafka/server.properties.tmpl" "$KAFKA_PROPS" \
        KAFKA_HOME_DIR KAFKA_HOST KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_DATA_DIR)" \
        || die "kafka: could not render $KAFKA_PROPS"
    [[ -z "$changed" ]] || log "kafka: wrote $KAFKA_PROPS"
}

kafka_format_once() {
    if [[ -f "$KAFKA_DATA_DIR/meta.properties" ]]; then
        return 0
    fi
    local id
    id="$(kafka_cluster_id)"
    printf '%s\n' "$id" >"$KAFKA_CLUSTER_ID_FILE"
    log "kafka: formatting $KAFKA_DATA_DIR (cluster $id, standalone controller)"
    kafka_tool kafka.tools.StorageTool format --standalone \
        -t "$id" -c "$KAFKA_PROPS" >>"$KAFKA_OUT" 2>&1 \
        || { show_log_tail "$KAFKA_OUT"; die "kafka: storage format failed"; }
}

# Readiness means "a Kafka client gets metadata", which an open port alone
# does not prove (the broker accepts connections before it is registered).
kafka_wait_ready() {
    if [[ ! -x "$PY" ]]; then
        warn "kafka: $PY not found; only checked that the port is open (create the venv for a real check)"
        return 0
    fi
    if [[ -f "$REPO_ROOT/events/admin.py" ]]; then
        (cd "$REPO_ROOT" && "$PY" -m events.admin wait --timeout "$KAFKA_READY_TIMEOUT") \
            || die "kafka: events.admin wait failed (see $KAFKA_OUT)"
    else
        # Fallback until events/admin.py exists in this checkout.
        warn "kafka: events/admin.py missing; using a built-in readiness probe"
        (cd "$REPO_ROOT" && "$PY" - "$KAFKA_BOOTSTRAP" "$KAFKA_READY_TIMEOUT" <<'PYEOF'
import sys, time
from kafka import KafkaAdminClient
bootstrap, timeout = sys.argv[1], float(sys.argv[2])
deadline = time.monotonic() + timeout
while True:
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        admin.list_topics()
        admin.close()
        sys.exit(0)
    except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
        if time.monotonic() > deadline:
            print(f"kafka not ready after {timeout}s: {exc!r}", file=sys.stderr)
            sys.exit(1)
        time.sleep(0.5)
PYEOF
        ) || die "kafka: broker did not answer within ${KAFKA_READY_TIMEOUT}s (see $KAFKA_OUT)"
    fi
}

kafka_ensure_topics() {
    if [[ -x "$PY" && -f "$REPO_ROOT/events/admin.py" ]]; then
        (cd "$REPO_ROOT" && "$PY" -m events.admin ensure-topics) \
            || die "kafka: events.admin ensure-topics failed"
    else
        warn "kafka: events/admin.py not present yet; topic catalogue not created"
    fi
}

kafka_up() {
    kafka_libs_ready || kafka_install
    mkdir -p "$KAFKA_DATA_DIR" "$KAFKA_LOG_DIR"

    local pid
    pid="$(kafka_pid)"
    if [[ -n "$pid" ]]; then
        log "kafka: already running (pid $pid), leaving it alone"
        kafka_wait_ready
        kafka_ensure_topics
        return 0
    fi
    local port
    for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        if port_open "$KAFKA_HOST" "$port"; then
            die "kafka: $KAFKA_HOST:$port is taken by another process (pid $(listener_pid "$port")); stop it or set KAFKA_PORT/KAFKA_CONTROLLER_PORT"
        fi
    done

    kafka_render_config
    kafka_format_once

    # Keep server.out from growing forever across many test runs.
    if [[ -f "$KAFKA_OUT" ]] && (( $(stat -c %s "$KAFKA_OUT") > 50 * 1024 * 1024 )); then
        mv -f "$KAFKA_OUT" "$KAFKA_OUT.1"
    fi
    printf '\n===== %s infra.sh: starting Kafka %s =====\n' "$(date -Is)" "$KAFKA_VERSION" >>"$KAFKA_OUT"

    log "kafka: starting $KAFKA_VERSION on $KAFKA_HOST:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT)"
    # setsid: the broker must not die with the shell or CI step that started
    # it, nor receive that terminal's Ctrl-C. The subshell execs all the way
    # down, so $! is the JVM's own pid. 9>&- drops the infra lock descriptor.
    # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM flags
    (
        cd "$KAFKA_HOME_DIR"
        exec setsid nohup "$JAVA" $KAFKA_HEAP_OPTS \
            -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
            -Djava.awt.headless=true \
            -Dkafka.logs.dir="$KAFKA_LOG_DIR" \
            -Dorg.slf4j.simpleLogger.defaultLogLevel="${KAFKA_LOG_LEVEL:-info}" \
            -Dorg.slf4j.simpleLogger.showDateTime=true \
            "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ" \
            -Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients=warn \
            -Dorg.slf4j.simpleLogger.log.org.apache.kafka.common.config=warn \
            -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_PROPS"
    ) >>"$KAFKA_OUT" 2>&1 </dev/null 9>&- &
    pid=$!
    echo "$pid" >"$KAFKA_PIDFILE"

    if ! wait_for_port kafka "$KAFKA_HOST" "$KAFKA_PORT" 90 "$pid"; then
        show_log_tail "$KAFKA_OUT" 60
        pid_alive "$pid" && stop_pid kafka "$pid" 10
        rm -f "$KAFKA_PIDFILE"
        die "kafka: did not start"
    fi
    kafka_wait_ready
    ok "kafka: running (pid $pid) on $KAFKA_HOST:$KAFKA_PORT"
    kafka_ensure_topics
}

kafka_down() {
    local pid
    pid="$(kafka_pid)"
    if [[ -z "$pid" ]]; then
        log "kafka: not running"
        rm -f "$KAFKA_PIDFILE"
        return 0
    fi
    # A clean shutdown lets the broker skip log recovery on the next start;
    # 60 s covers controlled shutdown even on a slow CI box.
    stop_pid kafka "$pid" 60
    rm -f "$KAFKA_PIDFILE"
    ok "kafka: stopped"
}

kafka_kill() {
    local pid
    pid="$(kafka_pid)"
    if [[ -z "$pid" ]]; then
        log "kafka: not running"
        return 0
    fi
    warn "kafka: SIGKILL pid $pid (simulated crash; next start runs log recovery)"
    kill -KILL "$pid" 2>/dev/null || true
    wait_pid_exit "$pid" 10 || die "kafka: pid $pid survived SIGKILL"
    rm -f "$KAFKA_PIDFILE"
}

kafka_status() {
    local pid addr="$KAFKA_HOST:$KAFKA_PORT (controller $KAFKA_HOST:$KAFKA_CONTROLLER_PORT, kafka $KAFKA_VERSION)"
    pid="$(kafka_pid)"
    if [[ -n "$pid" ]] && port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
        status_line kafka running "$pid" "$addr"
    elif [[ -n "$pid" ]]; then
        status_line kafka starting "$pid" "$addr"; return 1
    else
        status_line kafka stopped - "$addr"; return 1
    fi
}

# ================================================================= redis ====
redis_ping() {
    [[ "$(timeout 3 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null || true)" == PONG ]]
}

redis_pid() { live_pid_from "$REDIS_PIDFILE" "redis-server $REDIS_HOST:$REDIS_PORT"; }

redis_install() { apt_install_missing redis-server; }

redis_up() {
    command -v redis-server >/dev/null 2>&1 || redis_install
    mkdir -p "$REDIS_DIR"
    local pid
    pid="$(redis_pid)"
    if [[ -n "$pid" ]]; then
        log "redis: already running (pid $pid), leaving it alone"
        return 0
    fi
    if redis_ping; then
        log "redis: already running (external) on $REDIS_HOST:$REDIS_PORT, leaving it alone"
        return 0
    fi
    port_open "$REDIS_HOST" "$REDIS_PORT" \
        && die "redis: $REDIS_HOST:$REDIS_PORT is taken by something that is not Redis (pid $(listener_pid "$REDIS_PORT"))"

    log "redis: starting on $REDIS_HOST:$REDIS_PORT (data in $REDIS_DIR)"
    # appendonly: rate-limit counters and idempotency keys should survive a
    # restart of the dev box just like the database does.
    redis-server \
        --bind "$REDIS_HOST" --port "$REDIS_PORT" --protected-mode yes \
        --daemonize yes --pidfile "$REDIS_PIDFILE" \
        --dir "$REDIS_DIR" --logfile "$REDIS_LOG" \
        --appendonly yes --appendfsync everysec \
        --save "3600 1 300 100 60 10000" \
        9>&- </dev/null \
        || { show_log_tail "$REDIS_LOG"; die "redis: redis-server failed to start"; }

    local deadline=$(( SECONDS + 20 ))
    until redis_ping; do
        if (( SECONDS >= deadline )); then
            show_log_tail "$REDIS_LOG"
            die "redis: no PONG within 20s"
        fi
        sleep 0.1
    done
    ok "redis: running (pid $(redis_pid)) on $REDIS_HOST:$REDIS_PORT"
}

redis_down() {
    local pid
    pid="$(redis_pid)"
    if [[ -n "$pid" ]]; then
        # SIGTERM makes Redis flush the AOF before exiting.
        stop_pid redis "$pid" 30
        rm -f "$REDIS_PIDFILE"
        ok "redis: stopped"
    elif redis_ping; then
        log "redis: $REDIS_HOST:$REDIS_PORT is an external Redis, not ours; leaving it running"
    else
        log "redis: not running"
    fi
}

redis_status() {
    local pid addr="redis://$REDIS_HOST:$REDIS_PORT/0"
    pid="$(redis_pid)"
    if [[ -n "$pid" ]] && redis_ping; then
        status_line redis running "$pid" "$addr"
    elif redis_ping; then
        status_line redis running "external" "$addr (not managed by infra.sh)"
    else
        status_line redis stopped - "$addr"; return 1
    fi
}

# ============================================================== postgres ====
# PostgreSQL refuses to run as root, so as root we act as the `postgres` OS
# user; as anyone else the cluster simply belongs to the caller. The cd keeps
# the tools from complaining about a cwd that user cannot read.
pg_as() {
    local bin
    bin="$(find_pg_bin)"
    [[ -n "$bin" ]] || die "postgres: no PostgreSQL server binaries (run: infra.sh install postgres)"
    local tool="$bin/$1"; shift
    if [[ $EUID -eq 0 ]]; then
        (cd "$PG_DIR" && runuser -u postgres -- "$tool" "$@")
    else
        (cd "$PG_DIR" && "$tool" "$@")
    fi
}

pg_install() { apt_install_missing postgresql; }

pg_pid() {
    local pid
    [[ -f "$PG_DATA/postmaster.pid" ]] || return 0
    pid="$(head -n1 "$PG_DATA/postmaster.pid" | tr -dc '0-9')"
    if pid_alive "$pid" postgres; then printf '%s\n' "$pid"; fi
    return 0
}

pg_prepare_dirs() {
    mkdir -p "$PG_DIR" "$PG_RUN"
    if [[ $EUID -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || die "postgres: OS user 'postgres' missing (run: infra.sh install postgres)"
        # var/ usually sits under a root-owned checkout; the postgres user
        # needs to pass through every parent directory to reach its data.
        ensure_traversable "$(dirname "$PG_DIR")"
        chown postgres:postgres "$PG_DIR" "$PG_RUN"
        [[ ! -e "$PG_LOG" ]] || chown postgres:postgres "$PG_LOG"
    fi
    chmod 0700 "$PG_DIR" "$PG_RUN"
}

pg_write_config() {
    # Our settings live in an included file rewritten on every up, so a
    # changed PGPORT takes effect without editing postgresql.conf by hand.
    local conf="$PG_DATA/unionhub.conf" tmp
    tmp="$(mktemp)"
    cat >"$tmp" <<EOF
# Managed by deploy/local/infra.sh; rewritten on every 'up'.
listen_addresses = '$PG_HOST'
port = $PGPORT
unix_socket_directories = '$PG_RUN'
unix_socket_permissions = 0700
max_connections = 200
timezone = 'UTC'
log_timezone = 'UTC'
log_min_duration_statement = 1000
EOF
    if ! cmp -s "$tmp" "$conf" 2>/dev/null; then
        install -m 0600 "$tmp" "$conf"
        [[ $EUID -ne 0 ]] || chown postgres:postgres "$conf"
    fi
    rm -f "$tmp"
    grep -q "^include_if_exists = 'unionhub.conf'" "$PG_DATA/postgresql.conf" \
        || printf "\n# UnionHub local settings\ninclude_if_exists = 'unionhub.conf'\n" >>"$PG_DATA/postgresql.conf"
}

pg_init_once() {
    [[ -s "$PG_DATA/PG_VERSION" ]] && return 0
    log "postgres: initdb in $PG_DATA"
    # Socket logins are trusted because the socket dir is 0700 (only the
    # cluster owner gets in); TCP always needs a password.
    pg_as initdb -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 \
        || { show_log_tail "$PG_DIR/initdb.log"; die "postgres: initdb failed"; }
}

pg_psql() {
    pg_as psql -X -q -v ON_ERROR_STOP=1 -h "$PG_RUN" -p "$PGPORT" -U postgres -d postgres
}

pg_bootstrap_app() {
    # Idempotent: create the role and database only when missing, and reset
    # the password so the documented URL always works.
    pg_psql <<SQL >/dev/null
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_APP_USER') THEN
    CREATE ROLE "$PG_APP_USER" LOGIN CREATEDB PASSWORD '$PG_APP_PASSWORD';
  ELSE
    ALTER ROLE "$PG_APP_USER" LOGIN CREATEDB PASSWORD '$PG_APP_PASSWORD';
  END IF;
END
\$\$;
SELECT format('CREATE DATABASE %I OWNER %I', '$PG_APP_DB', '$PG_APP_USER')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$PG_APP_DB')
\gexec
SQL
}

pg_up() {
    [[ -n "$(find_pg_bin)" ]] || pg_install
    pg_prepare_dirs
    pg_init_once
    pg_write_config

    local pid
    pid="$(pg_pid)"
    if [[ -n "$pid" ]]; then
        log "postgres: already running (pid $pid), leaving it alone"
    else
        port_open "$PG_HOST" "$PGPORT" \
            && die "postgres: $PG_HOST:$PGPORT is taken by another process (pid $(listener_pid "$PGPORT")); set PGPORT"
        log "postgres: starting on $PG_HOST:$PGPORT (data in $PG_DATA)"
        [[ $EUID -ne 0 || ! -e "$PG_LOG" ]] || chown postgres:postgres "$PG_LOG"
        pg_as pg_ctl -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null 9>&- \
            || { show_log_tail "$PG_LOG"; die "postgres: pg_ctl start failed"; }
        pid="$(pg_pid)"
        ok "postgres: running (pid $pid) on $PG_HOST:$PGPORT"
    fi
    pg_bootstrap_app
    log "postgres: $(pg_url)"
}

pg_down() {
    if [[ -z "$(pg_pid)" ]]; then
        log "postgres: not running"
        return 0
    fi
    # fast = roll back open transactions and checkpoint; smart would wait for
    # idle client pools (the services) to disconnect, which they never do.
    pg_as pg_ctl -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null \
        || die "postgres: pg_ctl stop failed (see $PG_LOG)"
    ok "postgres: stopped"
}

pg_status() {
    local pid
    pid="$(pg_pid)"
    if [[ -n "$pid" ]] && port_open "$PG_HOST" "$PGPORT"; then
        status_line postgres running "$pid" "$(pg_url)"
    else
        status_line postgres stopped "${pid:--}" "$(pg_url)"; return 1
    fi
}

# ================================================================= nginx ====
nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }

nginx_install() { apt_install_missing nginx gettext-base; }

nginx_pid() { live_pid_from "$NGINX_PIDFILE" "nginx: master"; }

# nginx resolves -c against -p; -e keeps it from touching /var/log/nginx
# before it has read our config. NGINX_USE_CONF lets us test a candidate.
nginx_cmd() {
    "$(nginx_bin)" -p "$NGINX_HOME_DIR/" -c "${NGINX_USE_CONF:-$NGINX_CONF}" -e "$NGINX_ERROR_LOG" "$@"
}

# The upstreams and locations of every service in services/registry.py; a service's
# <NAME>_ADDR=host:port or <NAME>_PORT overrides where its upstream is (deploy/local/README.md).
nginx_render() {
    local python="$PY" GATEWAY_UPSTREAMS GATEWAY_LOCATIONS facts
    # The registry needs only the standard library, so this works before the venv exists.
    [[ -x "$python" ]] || python="python3"
    facts="$("$python" "$DEPLOY_DIR/local/registry_facts.py" gateway)" \
        || die "nginx: could not read services/registry.py"
    eval "$facts"
    render_template "$NGINX_TEMPLATE" "$1" \
        NGINX_HOME_DIR GATEWAY_HOST GATEWAY_PORT GATEWAY_UPSTREAMS GATEWAY_LOCATIONS >/dev/null
}

nginx_listen_line() { grep -m1 -E '^[[:space:]]*listen[[:space:]]' "$1" 2>/dev/null || true; }

nginx_up() {
    { [[ -x "$(nginx_bin)" ]] && command -v envsubst >/dev/null 2>&1; } || nginx_install
    mkdir -p "$NGINX_HOME_DIR"/tmp/{client_body,proxy,fastcgi,uwsgi,scgi}

    # Render a candidate and only promote it once it is valid and usable, so
    # a failed attempt never leaves a config the running gateway is not using.
    local next="$NGINX_CONF.next" pid
    rm -f "$next"
    nginx_render "$next"
    NGINX_USE_CONF="$next" nginx_cmd -t -q 2>"$NGINX_HOME_DIR/configtest.log" \
        || { cat "$NGINX_HOME_DIR/configtest.log" >&2; rm -f "$next"; die "nginx: rendered config is invalid"; }

    pid="$(nginx_pid)"
    if [[ -n "$pid" ]]; then
        if cmp -s "$next" "$NGINX_CONF"; then
            rm -f "$next"
            log "nginx: already running (pid $pid), leaving it alone"
            return 0
        fi
        # A reload onto a port someone else holds fails only inside nginx's
        # error log while the old config keeps serving; refuse it up front.
        if [[ "$(nginx_listen_line "$next")" != "$(nginx_listen_line "$NGINX_CONF")" ]] \
                && port_open "$GATEWAY_HOST" "$GATEWAY_PORT"; then
            rm -f "$next"
            die "nginx: cannot move the gateway to $GATEWAY_HOST:$GATEWAY_PORT, taken by pid $(listener_pid "$GATEWAY_PORT")"
        fi
        mv -f "$next" "$NGINX_CONF"
        log "nginx: config changed, reloading (pid $pid)"
        nginx_cmd -s reload
        wait_for_port nginx "$GATEWAY_HOST" "$GATEWAY_PORT" 10 \
            || { show_log_tail "$NGINX_ERROR_LOG"; die "nginx: reload did not bring up $GATEWAY_HOST:$GATEWAY_PORT"; }
        return 0
    fi

    if port_open "$GATEWAY_HOST" "$GATEWAY_PORT"; then
        rm -f "$next"
        die "nginx: $GATEWAY_HOST:$GATEWAY_PORT is taken by another process (pid $(listener_pid "$GATEWAY_PORT")); set GATEWAY_PORT"
    fi
    mv -f "$next" "$NGINX_CONF"
    log "nginx: starting gateway on $GATEWAY_HOST:$GATEWAY_PORT"
    nginx_cmd 9>&- </dev/null || { show_log_tail "$NGINX_ERROR_LOG"; die "nginx: failed to start"; }
    if ! wait_for_port nginx "$GATEWAY_HOST" "$GATEWAY_PORT" 10; then
        show_log_tail "$NGINX_ERROR_LOG"
        die "nginx: gateway port did not open"
    fi
    ok "nginx: running (pid $(nginx_pid)) on http://$GATEWAY_HOST:$GATEWAY_PORT"
}

nginx_down() {
    local pid
    pid="$(nginx_pid)"
    if [[ -z "$pid" ]]; then
        log "nginx: not running"
        return 0
    fi
    # SIGQUIT = graceful: finish in-flight requests, then exit.
    log "nginx: graceful stop of pid $pid"
    kill -QUIT "$pid" 2>/dev/null || true
    wait_pid_exit "$pid" 15 || stop_pid nginx "$pid" 5
    ok "nginx: stopped"
}

nginx_status() {
    local pid addr="http://$GATEWAY_HOST:$GATEWAY_PORT"
    pid="$(nginx_pid)"
    if [[ -n "$pid" ]] && port_open "$GATEWAY_HOST" "$GATEWAY_PORT"; then
        status_line nginx running "$pid" "$addr"
    else
        status_line nginx stopped "${pid:--}" "$addr"; return 1
    fi
}

# ============================================================== dispatch ====
status_line() {
    printf '%-9s %-8s pid=%-8s %s\n' "$1" "$2" "$3" "$4"
}

component_fn() {
    local comp="$1" action="$2"
    case "$comp" in
        postgres) echo "pg_$action" ;;
        *)        echo "${comp}_$action" ;;
    esac
}

# Debian packages behind the given components, so one apt run covers them all.
# The QR tests need zbar; it belongs to no service, so only a full run
# (no component named, first argument 0) pulls it in.
packages_for() {
    local nargs="$1" c; shift
    for c in "$@"; do
        case "$c" in
            kafka)    echo default-jre-headless maven gettext-base ;;  # envsubst renders its config
            redis)    echo redis-server ;;
            postgres) echo postgresql ;;
            nginx)    echo nginx gettext-base ;;
        esac
    done
    (( nargs == 0 )) && echo zbar-tools libzbar0
    return 0
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

main() {
    local cmd="${1:-}"
    [[ -n "$cmd" ]] || usage
    shift

    local comps=() pkgs=() c
    if (( $# == 0 )); then
        comps=("${ALL_COMPONENTS[@]}")
    else
        for c in "$@"; do
            case "$c" in
                kafka|redis|nginx) comps+=("$c") ;;
                postgres|postgresql|pg) comps+=(postgres) ;;
                *) die "unknown component '$c' (kafka, redis, postgres, nginx)" ;;
            esac
        done
    fi
    local reversed=()
    for (( i=${#comps[@]}-1; i>=0; i-- )); do reversed+=("${comps[i]}"); done

    case "$cmd" in
        install)
            take_lock
            read -r -a pkgs <<<"$(packages_for "$#" "${comps[@]}" | tr '\n' ' ')" || true
            apt_install_missing "${pkgs[@]}"
            for c in "${comps[@]}"; do "$(component_fn "$c" install)"; done
            ok "install: done"
            ;;
        up)
            take_lock
            read -r -a pkgs <<<"$(packages_for "$#" "${comps[@]}" | tr '\n' ' ')" || true
            apt_install_missing "${pkgs[@]}"
            for c in "${comps[@]}"; do "$(component_fn "$c" up)"; done
            ;;
        down)
            take_lock
            for c in "${reversed[@]}"; do "$(component_fn "$c" down)"; done
            ;;
        restart)
            take_lock
            for c in "${reversed[@]}"; do "$(component_fn "$c" down)"; done
            for c in "${comps[@]}"; do "$(component_fn "$c" up)"; done
            ;;
        kill)
            take_lock
            (( $# > 0 )) || comps=(kafka)
            for c in "${comps[@]}"; do
                [[ "$c" == kafka ]] || die "kill is only supported for kafka (use down for $c)"
                kafka_kill
            done
            ;;
        status)
            local rc=0
            for c in "${comps[@]}"; do "$(component_fn "$c" status)" || rc=1; done
            return "$rc"
            ;;
        env)
            # For `eval "$(bash deploy/local/infra.sh env)"` before running the
            # services by hand; names match services/common/config.py. Each service
            # has a database of its own: config.py fills in {service}.
            printf 'export UNIONHUB_HOME=%q\n' "$UNIONHUB_HOME"
            printf 'export DATABASE_URL=%q\n' "$(pg_url)_{service}"
            printf 'export REDIS_URL=%q\n' "redis://$REDIS_HOST:$REDIS_PORT/0"
            printf 'export KAFKA_BOOTSTRAP=%q\n' "$KAFKA_BOOTSTRAP"
            printf 'export PUBLIC_BASE_URL=%q\n' "http://$GATEWAY_HOST:$GATEWAY_PORT"
            ;;
        render-gateway)
            # The gateway config `up` would run, on stdout; starts and changes nothing.
            local out
            out="$(mktemp)"
            nginx_render "$out"
            cat "$out"
            rm -f "$out"
            ;;
        -h|--help|help) usage ;;
        *) die "unknown command '$cmd' (install, up, down, status, restart, kill, env, render-gateway)" ;;
    esac
}

main "$@"
