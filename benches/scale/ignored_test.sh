# Sourced by churn.sh and soak.sh: checks the tools they need and runs one
# ignored test of tests/scale_churn.rs (bench profile: optimised like
# release, quicker to build with thin LTO), keeping its whole output in a
# temp file shown when it fails; the lines matching $2 go to the terminal
# as they come. Exits with the test's status.
#
#   run_ignored_test <test name> <grep -E pattern of the lines to show>
cd "$(dirname "$0")/../.."
for c in etcd nginx wrk; do
  command -v $c >/dev/null || { echo "needs $c (make deps installs it)"; exit 1; }
done
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git rev-parse --short HEAD)"

run_ignored_test() {
  local status
  log=$(mktemp); trap 'rm -f "$log"' EXIT
  set +e
  cargo test --profile bench -p radixgate --test scale_churn -- --ignored --nocapture \
    "$1" 2>&1 | tee "$log" | grep --line-buffered -E "$2"
  status=${PIPESTATUS[0]}
  set -e
  [ "$status" = 0 ] || { echo "FAILED (exit $status); the output's last lines:"; tail -40 "$log"; }
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit "$status"
}
