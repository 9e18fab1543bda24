# Sourced first, from the repository's root, by the proxy benches that load
# the proxies with oha at a fixed rate (latency.sh, syscalls.sh, sched.sh):
# checks that oha ($OHA, default `oha`), nginx, python3 and the TOOLS the
# caller names are installed (exits 2 naming the one missing), sets BIN
# (default: the release build, built first unless NOBUILD=1) and prints
# the machine's line, with oha's version.
#
#   . benches/proxy/oha_bench.sh TOOL...

OHA=${OHA:-oha}
for c in nginx python3 "$OHA" "$@"; do
  command -v "$c" >/dev/null || { echo "missing $c (oha: cargo install oha --locked)" >&2; exit 2; }
done
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/radixgate}
[ "${NOBUILD:-0}" = 1 ] || cargo build --release -p radixgate >&2
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(nginx -v 2>&1); $("$OHA" --version)"
