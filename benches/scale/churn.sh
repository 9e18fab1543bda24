#!/usr/bin/env bash
# Churn without collateral: with BENCH_ROUTES routes (default 100000) in a
# real etcd (its own, on free loopback ports) on one nginx upstream, one
# gateway worker: p50/p99 and req/s of a steady route under wrk
# (BENCH_CONNS connections, BENCH_SECS s) without churn, then the same with
# BENCH_RATE (50) Admin API changes a second from a thread of the bench;
# the driver's own CPU beside it; the gateway's CPU per change under load
# (estimated) and alone (BENCH_IDLE_SECS of churn without load); Admin PUT
# -> served p50/p99 (every tenth change); start time and RSS. Prints one
# BENCH line. Fails when a request failed or a change was rejected or
# never served; timing is never asserted.
#
#   benches/scale/churn.sh
#   BENCH_ROUTES=10000 BENCH_SECS=10 benches/scale/churn.sh
#   BENCH_BIN=/tmp/saved/radixgate benches/scale/churn.sh   # a saved build
set -euo pipefail
. "$(dirname "$0")/ignored_test.sh"
run_ignored_test churn_steady_route_with_and_without_admin_changes \
  '^BENCH|panicked|error|failed|rejected|never served|test result'
