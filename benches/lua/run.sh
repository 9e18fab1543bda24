#!/usr/bin/env bash
# Builds the release library and times resty.radixtree on lua-resty-radixtree's
# route sets: benches/lua/run.sh [quick]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cargo build --release -p radix-router
target="${CARGO_TARGET_DIR:-$root/target}"
LUA_PATH="$root/router-ffi/lua/?.lua;;" \
RADIX_ROUTER_LIB="$target/release/libradix_router.so" \
    luajit "$root/benches/lua/bench_router.lua" "$@"
