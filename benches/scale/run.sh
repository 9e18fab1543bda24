#!/usr/bin/env bash
# Scale: with 1k, 10k and 100k routes in a real etcd (its own, on free
# loopback ports), one gateway worker: start to serving the last route
# (from etcd, and from the snapshot file with etcd down), RSS (once loaded,
# and after the changes, with the builder's second snapshot), CPU per
# Admin change (process CPU time over BENCH_CHANGES PUTs) and the time of
# an Admin list page of 500, bare and with name/label/uri filters. Prints
# one BENCH line per size and whether the CPU-per-change target is met.
#
#   benches/scale/run.sh
#   BENCH_SIZES=1000,100000 BENCH_CHANGES=500 benches/scale/run.sh
#   BENCH_WORKERS=4 benches/scale/run.sh   (proxy workers; default 1)
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v etcd >/dev/null || { echo "needs etcd (apt-get install etcd-server)"; exit 1; }
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)"
# The bench profile: optimised like release, quicker to build (thin LTO).
cargo test --profile bench -p radixgate --test scale_bench -- --ignored --nocapture 2>&1 \
  | grep -E '^BENCH|panicked|error' || true
