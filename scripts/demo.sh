#!/usr/bin/env bash
# Brings up Beholder on the embedded defaults (SQLite, local files): installs, migrates, builds
# and imports the sample image set, creates an admin user, and serves http://127.0.0.1:8000.
# Safe to run again. Pass --no-serve to set up without serving.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"

mkdir -p var
[ -s var/secret-key ] || python -c 'import secrets; print(secrets.token_urlsafe(50))' >var/secret-key
export SECRET_KEY="$(cat var/secret-key)"
export BEHOLDER_HTTPS=false  # served on loopback over plain HTTP

exec python manage.py demo "$@"
