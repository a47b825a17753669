#!/usr/bin/env bash
# Runs the whole test suite: lint, format check, then pytest. Uses DATABASE_URL and
# CELERY_BROKER_URL when set (PostgreSQL and Redis in CI), else the embedded defaults.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"

# Browser tests drive Debian's Chromium through Playwright.
if [ ! -x /usr/bin/chromium ]; then
    echo "Installing Debian's chromium for the browser tests..." >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi

ruff check .
ruff format --check .
mkdir -p test-artifacts
python -m pytest "$@"
