#!/usr/bin/env bash
# The access log's cost: two radixgate processes (ONE worker each) in front
# of the same nginx upstream, one with `access_log: off`, one writing
# APISIX's default format to a file; wrk alternates between them, same
# run, same load. Prints each round, the medians, and the lines written
# and dropped (radixgate_access_log_dropped_total needs the prometheus
# plugin, so drops are read as lines missing from the file).
#
#   benches/access_log/run.sh                # builds the release binary first
#   ROUNDS=5 DUR=8 CONN=64 NOBUILD=1 benches/access_log/run.sh
#
# Ports: picks free loopback ports itself. Needs nginx and wrk (make deps).
set -euo pipefail
cd "$(dirname "$0")/../.."
for c in nginx wrk python3; do
  command -v $c >/dev/null || { echo "missing $c (make deps installs nginx and wrk)" >&2; exit 2; }
done
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-5}; CONN=${CONN:-64}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=$TARGET/release/radixgate
if [ "${NOBUILD:-0}" != 1 ]; then
  cargo build --release -p radixgate >&2
fi
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(nginx -v 2>&1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "load: wrk -t1 -c$CONN -d${DUR}s, $ROUNDS rounds each, alternating"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port); OFF=$(free_port); ON=$(free_port)
W=$(mktemp -d)
cleanup() {
  for p in off on up; do [ -f "$W/$p.pid" ] && kill "$(cat "$W/$p.pid")" 2>/dev/null || true; done
  sleep 0.3; rm -rf "$W"
}
trap cleanup EXIT

cat >"$W/up.conf" <<CONF
worker_processes 1; pid $W/up.pid; error_log $W/up.err; daemon on;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$UP; keepalive_requests 100000;
  location / { return 200 "hello world\n"; } } }
CONF
cat >"$W/apisix.yaml" <<CONF
routes:
  - {id: r, uri: /r, upstream: {nodes: {"127.0.0.1:$UP": 1}}}
#END
CONF
for side in off on; do
  port=$OFF; log=off
  [ $side = on ] && { port=$ON; log=$W/access.log; }
  cat >"$W/$side.yaml" <<CONF
gateway: {listen: ["127.0.0.1:$port"], worker_threads: 1, log_level: warn, access_log: "$log"}
config: {file: $W/apisix.yaml}
CONF
done
nginx -c "$W/up.conf" -p "$W"
for side in off on; do
  ("$BIN" --config "$W/$side.yaml" >"$W/$side.log" 2>&1 & echo $! >"$W/$side.pid")
done
for port in $OFF $ON; do
  for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/r" >/dev/null 2>&1 && break; sleep 0.1; done
done

declare -A RPS
declare -A SENT
for r in $(seq "$ROUNDS"); do
  for side in off on; do
    port=$OFF; [ $side = on ] && port=$ON
    out=$(wrk -t1 -c"$CONN" -d"${DUR}s" "http://127.0.0.1:$port/r")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    RPS[$side]+="$rps "
    SENT[$side]=$(( ${SENT[$side]:-0} + n ))
    echo "round $r access_log $side: $rps req/s"
  done
done
sleep 2
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
o=$(median <<<"${RPS[off]}"); f=$(median <<<"${RPS[on]}")
echo "median: access_log off $o req/s, file $f req/s ($(python3 -c "print(f'{$f/$o*100:.1f}')")% of off)"
lines=$(grep -c ' "GET /r HTTP/1.1" ' "$W/access.log" || true)
echo "file: $lines lines for ${SENT[on]} requests wrk counted (besides the 1 warm-up)"
