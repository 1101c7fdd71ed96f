#!/usr/bin/env bash
# Set up and start the whole system on this machine: Kafka, Redis, PostgreSQL, the gateway, every
# service with its event worker, and demo data. Safe to run again; it starts only what is not running.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=deploy/local/python.sh
source "$DEPLOY_DIR/local/python.sh"
# shellcheck source=deploy/local/web_assets.sh
source "$DEPLOY_DIR/local/web_assets.sh"

ensure_venv
ensure_web_assets
bash "$DEPLOY_DIR/local/infra.sh" install
bash "$DEPLOY_DIR/local/infra.sh" up
bash "$DEPLOY_DIR/local/services.sh" up
UNIONHUB_HOME="$UNIONHUB_HOME" "$REPO_ROOT/.venv/bin/unionhub" seed

gateway="http://127.0.0.1:${GATEWAY_PORT:-8000}"
cat <<INFO

UnionHub is running.
  Gateway (mini-app API)   $gateway/api/v1/...
  Pages                    $gateway/app/   (H5 join page, till, station duty, admin console)
  Logs                     $UNIONHUB_HOME/log/
Each service (API docs, OpenAPI, readiness, metrics; its event worker's metrics):
INFO
"$REPO_ROOT/.venv/bin/python" "$DEPLOY_DIR/local/registry_facts.py" services |
    while read -r name _port worker_metrics; do
        printf '  %-10s %s/svc/%s/docs   /openapi.json /readyz /metrics   worker http://127.0.0.1:%s/metrics\n' \
            "$name" "$gateway" "$name" "$worker_metrics"
    done
cat <<INFO

Demo logins (POST $gateway/api/v1/auth/staff/login):
  admin          / ${UNIONHUB_ADMIN_PASSWORD:-unionhub-admin}   federation admin (贵州省总工会)
  tongren-admin  / ${UNIONHUB_DEMO_PASSWORD:-unionhub-demo}    admin of 铜仁市总工会 and below
  express-admin  / ${UNIONHUB_DEMO_PASSWORD:-unionhub-demo}    admin of 贵阳市快递行业工会联合会
  till-huilian   / ${UNIONHUB_DEMO_PASSWORD:-unionhub-demo}    till of 华联超市's 9 stores around 铜仁
  station-demo   / ${UNIONHUB_DEMO_PASSWORD:-unionhub-demo}    coordinator of the demo stations
  venue-demo     / ${UNIONHUB_DEMO_PASSWORD:-unionhub-demo}    check-in desk of 贵阳市工人文化宫 (courses)
Members log in with any wx.login code: POST $gateway/api/v1/auth/wechat {"code": "demo-1"}

Stop everything: bash deploy/local/down.sh
INFO
