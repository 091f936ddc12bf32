#!/usr/bin/env bash
# Installs what building and testing pointmint needs and is missing. Safe to run again:
# every step checks first and does nothing when the tool is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs first" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen's CLI must be exactly the library version the lock file pins.
wanted_bindgen=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wanted_bindgen" ]; then
  say "installing wasm-bindgen-cli $wanted_bindgen (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$wanted_bindgen"
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  say "installing Node.js and npm"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi

# Browser tests use Debian's Chromium; Playwright must not download a browser of its own.
if ! command -v chromium >/dev/null; then
  say "installing Chromium for the browser tests"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

# npm packages: reinstall only when package-lock.json changed since the last install.
# The repository root holds build tools (binaryen's wasm-opt for `build-site.sh --release`).
for dir in . end2end mvs/crosscheck; do
  [ -f "$dir/package-lock.json" ] || continue
  stamp="$dir/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
    say "installing npm packages in $dir"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
done
