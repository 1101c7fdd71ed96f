"""The web service's migration environment: the one every service shares, in services/common/migrations.py."""

from services.common.migrations import run_env

run_env()
