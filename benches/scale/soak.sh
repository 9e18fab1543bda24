#!/usr/bin/env bash
# Soak (not in CI; 30 minutes by default): BENCH_ROUTES routes (default
# 100000) in a real etcd, one gateway worker, a steady load on one route
# (wrk, SOAK_CONNS connections each waiting SOAK_DELAY_MS ms between
# requests) and SOAK_RATE (10) Admin API changes a second, for
# SOAK_MINUTES. Samples the gateway's RSS every 10 s and prints the
# samples, then one BENCH line: the RSS at 1 minute against the min and
# max after it (target: within +-5%), total and failed requests (must be
# 0), changes, Admin PUT -> served. Fails when a request failed or a
# change was rejected or never served.
#
#   benches/scale/soak.sh
#   SOAK_MINUTES=2 BENCH_ROUTES=10000 benches/scale/soak.sh   # a short check
set -euo pipefail
cd "$(dirname "$0")/../.."
for c in etcd nginx wrk; do
  command -v $c >/dev/null || { echo "needs $c (make deps installs it)"; exit 1; }
done
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)"
echo "soak: ${SOAK_MINUTES:-30} min, ${BENCH_ROUTES:-100000} routes, ${SOAK_RATE:-10} changes/s"
# The whole output is kept in a temp file, shown when the test fails.
log=$(mktemp); trap 'rm -f "$log"' EXIT
set +e
cargo test --profile bench -p radixgate --test scale_churn -- --ignored --nocapture \
  soak_rss_and_failures_under_load_and_churn 2>&1 | tee "$log" \
  | grep --line-buffered -E '^BENCH|^SOAK|panicked|error|failed|rejected|never served|test result'
status=${PIPESTATUS[0]}
set -e
[ "$status" = 0 ] || { echo "FAILED (exit $status); the output's last lines:"; tail -40 "$log"; }
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"
