#!/usr/bin/env bash
# Admin PUT -> first request served by the new route, with 10k routes
# already loaded from etcd; also the time for a gateway to start and serve
# all 10k. Starts its own etcd (Debian's etcd-server) on free loopback
# ports. Prints one BENCH line.
#
#   benches/admin/run.sh                      # 10k routes, 1000 changes
#   BENCH_ROUTES=1000 BENCH_CHANGES=100 benches/admin/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v etcd >/dev/null || { echo "needs etcd (apt-get install etcd-server)"; exit 1; }
# The bench profile: optimised like release, quicker to build (thin LTO).
cargo test --profile bench -p radixgate --test admin_bench -- --ignored --nocapture 2>&1 \
  | grep -E '^BENCH|panicked|error' || true
