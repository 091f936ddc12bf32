#!/usr/bin/env bash
# Installs what is missing, builds, and runs pointmint on its embedded defaults
# (SQLite in ./data, the built-in development chain, mail to ./data/outbox) at
# http://127.0.0.1:3000. Extra arguments go to `pointmint serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build-site.sh
exec target/debug/pointmint serve "$@"
