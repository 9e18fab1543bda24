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
. "$(dirname "$0")/ignored_test.sh"
echo "soak: ${SOAK_MINUTES:-30} min, ${BENCH_ROUTES:-100000} routes, ${SOAK_RATE:-10} changes/s"
run_ignored_test soak_rss_and_failures_under_load_and_churn \
  '^BENCH|^SOAK|panicked|error|failed|rejected|never served|test result'
