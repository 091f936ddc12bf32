#!/usr/bin/env bash
# Reproduces every figure in BENCHMARKS.md: builds the release server, the release browser
# bundle and the load tool, then runs `pointmint-load`, which starts `pointmint serve` on
# loopback on a fresh SQLite data directory and on a fresh PostgreSQL database
# (created and dropped by the tool) and measures award throughput beside a plain-sqlx
# baseline, settlement on the 2 s development chain, render times, download sizes and memory.
#
#   scripts/bench.sh                      # everything (about 10 minutes after the builds)
#   scripts/bench.sh --databases sqlite   # any pointmint-load flag; see --help
#
# PostgreSQL: postgres://postgres@127.0.0.1:5432 unless BENCH_POSTGRES says otherwise.
# The release site goes to $CARGO_TARGET_DIR/bench-site so a developer's target/site is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
site="$target_dir/bench-site"
out="${BENCH_OUT:-$target_dir/bench/figures.md}"

POINTMINT_SITE_ROOT="$site" scripts/build-site.sh --release
cargo build --release -p loadtest

"$target_dir/release/pointmint-load" \
  --server-bin "$target_dir/release/pointmint" \
  --site-root "$site" \
  --work-dir "$target_dir/bench" \
  --out "$out" \
  --postgres "${BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}" \
  "$@"
echo "figures written to $out (copy them into BENCHMARKS.md)"
