#!/usr/bin/env bash
# Runs every test: Rust tests on SQLite, the database tests again on PostgreSQL, the
# metaversejs cross-check, and the browser tests in headless Chromium.
#
# PostgreSQL is taken from POINTMINT_TEST_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/postgres). In CI (CI=true) an unreachable PostgreSQL
# fails the run; on a developer machine without one its pass is skipped with a notice.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m[test]\033[0m %s\n' "$*"; }

scripts/setup.sh
say "building the site and the server"
scripts/build-site.sh

# Package by package, never --workspace: building `frontend` in the same invocation would
# unify `app`'s `hydrate` feature into the server build, and Leptos would then run browser-only
# code (spawn_local) on the server.
say "Rust tests (database: SQLite)"
export POINTMINT_TEST_DATABASE=sqlite
cargo test -p mvs
cargo test -p app --features ssr
cargo test -p server

export POINTMINT_TEST_POSTGRES_URL="${POINTMINT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_hostport=$(echo "$POINTMINT_TEST_POSTGRES_URL" | sed -E 's#^[a-z]+://([^@/]*@)?([^/?]+).*#\2#')
pg_host=${pg_hostport%:*}; pg_port=${pg_hostport##*:}; [ "$pg_port" = "$pg_hostport" ] && pg_port=5432
if (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null; then
  if command -v psql >/dev/null; then
    # Each test creates its own database; drop what earlier runs left behind.
    psql "$POINTMINT_TEST_POSTGRES_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'pm\_test\_%'" |
      while read -r name; do psql "$POINTMINT_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS \"$name\"" >/dev/null; done
  fi
  say "Rust database tests again (database: PostgreSQL at $pg_host:$pg_port)"
  POINTMINT_TEST_DATABASE=postgres cargo test -p server --test api
elif [ "${CI:-}" = "true" ]; then
  echo "PostgreSQL is not reachable at $pg_host:$pg_port; CI requires it." >&2
  exit 1
else
  say "NOTICE: PostgreSQL not reachable at $pg_host:$pg_port: skipping the PostgreSQL pass (CI would fail here)"
fi

say "browser tests (Playwright, headless Chromium)"
(cd end2end && npx playwright test)
