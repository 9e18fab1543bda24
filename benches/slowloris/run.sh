#!/usr/bin/env bash
# Normal requests' p99 with and without a slowloris on radixgate's proxy
# port, in one run. radixgate (ONE worker, default limits) proxies to an
# nginx upstream returning a 12-byte body; wrk measures normal requests.
# Rounds alternate: a quiet round, then a round while `slowloris.py` holds
# CONNS connections open on the same port, each sending one more header
# line every few seconds and never finishing its head (reconnecting when
# cut off). Prints every round, the medians and the ratio attacked/quiet
# (target: p99 <= 2x).
#
#   benches/slowloris/run.sh                   # builds the release binary first
#   ROUNDS=3 DUR=10 CONN=16 CONNS=500 benches/slowloris/run.sh
#   PROFILE=bench benches/slowloris/run.sh     # thin LTO: a quicker build
#   NOBUILD=1 BIN=/tmp/a/radixgate benches/slowloris/run.sh
#
# Ports: picks free loopback ports itself. Needs nginx and wrk (make deps).
set -euo pipefail
cd "$(dirname "$0")/../.."
for c in nginx wrk python3 curl; do
  command -v $c >/dev/null || { echo "missing $c (make deps installs nginx and wrk)" >&2; exit 2; }
done
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-10}; CONN=${CONN:-16}; CONNS=${CONNS:-500}
PROFILE=${PROFILE:-release}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/$PROFILE/radixgate}
if [ "${NOBUILD:-0}" != 1 ]; then
  cargo build --profile "$PROFILE" -p radixgate --bin radixgate >&2
fi
[ "$(ulimit -n)" -gt $((CONNS + CONN + 100)) ] || ulimit -n $((CONNS + CONN + 1024))
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); build: $PROFILE"
echo "load: wrk -t1 -c$CONN -d${DUR}s --latency; attack: $CONNS slowloris connections; $ROUNDS rounds each, alternating"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port); RG=$(free_port)
W=$(mktemp -d)
cleanup() {
  [ -f "$W/sl.pid" ] && kill "$(cat "$W/sl.pid")" 2>/dev/null || true
  [ -f "$W/rg.pid" ] && kill "$(cat "$W/rg.pid")" 2>/dev/null || true
  [ -f "$W/up.pid" ] && kill "$(cat "$W/up.pid")" 2>/dev/null || true
  sleep 0.3; rm -rf "$W"
}
trap cleanup EXIT

cat >"$W/up.conf" <<CONF
worker_processes 1; pid $W/up.pid; error_log $W/up.err; daemon on;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$UP; keepalive_requests 100000;
  location / { return 200 "hello world\n"; } } }
CONF
cat >"$W/config.yaml" <<CONF
gateway: {listen: ["127.0.0.1:$RG"], worker_threads: 1, log_level: warn}
config: {file: $W/apisix.yaml}
CONF
cat >"$W/apisix.yaml" <<CONF
routes:
  - {id: hello, uri: /hello, upstream: {nodes: {"127.0.0.1:$UP": 1}}}
#END
CONF
nginx -c "$W/up.conf" -p "$W"
("$BIN" --config "$W/config.yaml" >"$W/rg.log" 2>&1 & echo $! >"$W/rg.pid")
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$RG/hello" && break; sleep 0.1; done
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RG/hello")
[ "$code" = 200 ] || { echo "radixgate answers $code on /hello; its log:" >&2; cat "$W/rg.log" >&2; exit 1; }
RGP=$(cat "$W/rg.pid")

load() { # -> "req/s p99_ms"
  local out; out=$(wrk -t1 -c"$CONN" -d"${DUR}s" --latency "http://127.0.0.1:$RG/hello" 2>&1)
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "warning: errors:" >&2; grep "Non-2xx\|Socket errors" <<<"$out" >&2; fi
  awk '/Requests\/sec/ {r=$2} $1=="99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; p=v} END {print r, p}' <<<"$out"
}
open_conns() { ls "/proc/$RGP/fd" | wc -l; }
attack() { # starts the slowloris, waits until the gateway holds its connections
  local before; before=$(open_conns)
  python3 benches/slowloris/slowloris.py 127.0.0.1 "$RG" "$CONNS" >"$W/sl.log" 2>&1 &
  echo $! >"$W/sl.pid"
  for _ in $(seq 100); do
    [ "$(open_conns)" -ge $((before + CONNS)) ] && return 0
    sleep 0.1
  done
  echo "warning: the gateway holds $(( $(open_conns) - before )) of $CONNS slowloris connections" >&2
}
calm() {
  kill "$(cat "$W/sl.pid")" 2>/dev/null || true; wait "$(cat "$W/sl.pid")" 2>/dev/null || true; rm -f "$W/sl.pid"
  for _ in $(seq 100); do [ "$(open_conns)" -lt $((CONNS / 10)) ] && return 0; sleep 0.1; done
}
: >"$W/quiet"; : >"$W/attacked"
for r in $(seq "$ROUNDS"); do
  q=$(load); echo "$q" >>"$W/quiet"
  attack; held=$(( $(open_conns) ))
  a=$(load); echo "$a" >>"$W/attacked"
  calm
  printf "round %d: quiet %s req/s p99 %s ms | under slowloris (%d fds open) %s req/s p99 %s ms\n" "$r" $q "$held" $a
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
qr=$(cut -d' ' -f1 "$W/quiet" | median); qp=$(cut -d' ' -f2 "$W/quiet" | median)
ar=$(cut -d' ' -f1 "$W/attacked" | median); ap=$(cut -d' ' -f2 "$W/attacked" | median)
printf "median: quiet %s req/s p99 %s ms | under slowloris %s req/s p99 %s ms\n" "$qr" "$qp" "$ar" "$ap"
printf "ratio under slowloris/quiet: p99 %.2fx (target <= 2x), req/s %.2fx\n" \
  "$(awk -v a="$ap" -v b="$qp" 'BEGIN {print a / b}')" \
  "$(awk -v a="$ar" -v b="$qr" 'BEGIN {print a / b}')"
