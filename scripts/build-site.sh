#!/usr/bin/env bash
# Builds what the browser downloads (wasm, JS glue, CSS) into target/site, then the server.
# The same steps cargo-leptos performs, done with plain cargo and wasm-bindgen so that a
# fresh machine needs no extra build tool. `--release` optimises both (wasm for size).
set -euo pipefail
cd "$(dirname "$0")/.."

profile=dev; wasm_profile=dev; wasm_dir=debug; server_flags=()
if [ "${1:-}" = "--release" ]; then
  wasm_profile=wasm-release; wasm_dir=wasm-release; server_flags=(--release)
fi

# Both may point elsewhere (scripts/bench.sh builds a release site beside a developer's one).
target_dir="${CARGO_TARGET_DIR:-target}"
site="${POINTMINT_SITE_ROOT:-target/site}"
pkg="$site/pkg"
mkdir -p "$pkg"

cargo build -p frontend --lib --target wasm32-unknown-unknown --profile "$wasm_profile"
wasm-bindgen --target web --no-typescript --out-name pointmint --out-dir "$pkg" \
  "$target_dir/wasm32-unknown-unknown/$wasm_dir/frontend.wasm"
if [ "$wasm_profile" = wasm-release ]; then
  # wasm-opt from the npm package `binaryen` (Debian's build breaks hydration).
  wasm_opt="$(dirname "$0")/../node_modules/.bin/wasm-opt"
  if [ -x "$wasm_opt" ]; then
    "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int "$pkg/pointmint_bg.wasm" -o "$pkg/pointmint_bg.wasm"
  fi
fi
cp style/main.css "$pkg/pointmint.css"
if [ -d public ]; then cp -r public/. "$site/"; fi
# Pre-compressed copies: the static file service sends them to browsers that accept gzip.
for file in "$pkg"/pointmint_bg.wasm "$pkg"/pointmint.js "$pkg"/pointmint.css; do
  gzip -9 -k -f "$file"
done

cargo build -p server --bin pointmint "${server_flags[@]}"
