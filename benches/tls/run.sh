#!/usr/bin/env bash
# TLS 1.3 handshakes per second, radixgate beside nginx on loopback, one
# run: wrk with `Connection: close` (a new connection, so a full TLS 1.3
# handshake, per request; wrk resumes no session) against nginx
# (`ssl_certificate`, `proxy_pass` with keepalive) and against radixgate
# (the same certificate as an `ssls` object, reached through
# `fallback_sni` as wrk sends no SNI to an IP address), each with ONE
# worker, both in front of the same nginx upstream returning 12 bytes.
# Rounds alternate; prints each round, the medians and radixgate's ratio
# to nginx, with each proxy's CPU time per handshake.
#
#   benches/tls/run.sh                  # builds the release binary first
#   ROUNDS=5 DUR=8 CONN=16 benches/tls/run.sh
#   NOBUILD=1 BIN=/tmp/a/radixgate benches/tls/run.sh
#
# Ports: picks free loopback ports itself. Needs nginx, wrk, openssl.
set -euo pipefail
cd "$(dirname "$0")/../.."
for c in nginx wrk python3 openssl; do
  command -v $c >/dev/null || { echo "missing $c (make deps installs nginx and wrk)" >&2; exit 2; }
done
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-5}; CONN=${CONN:-16}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/radixgate}
if [ "${NOBUILD:-0}" != 1 ]; then cargo build --release -p radixgate >&2; fi
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(nginx -v 2>&1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(openssl version)"
echo "load: wrk -t1 -c$CONN -d${DUR}s -H 'Connection: close' (TLS 1.3, ECDSA P-256), $ROUNDS rounds each, alternating"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port); NG=$(free_port); RG=$(free_port); RGT=$(free_port)
W=$(mktemp -d)
cleanup() {
  [ -f "$W/rg.pid" ] && kill "$(cat "$W/rg.pid")" 2>/dev/null || true
  for p in "$W/up.pid" "$W/px.pid"; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
  sleep 0.3; rm -rf "$W"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=bench.test -addext subjectAltName=DNS:bench.test \
  -keyout "$W/bench.key" -out "$W/bench.crt" 2>/dev/null
cat >"$W/up.conf" <<CONF
worker_processes 1; pid $W/up.pid; error_log $W/up.err; daemon on;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$UP; keepalive_requests 100000;
  location / { return 200 "hello world\n"; } } }
CONF
cat >"$W/px.conf" <<CONF
worker_processes 1; pid $W/px.pid; error_log $W/px.err; daemon on;
events { worker_connections 4096; }
http { access_log off; upstream up { server 127.0.0.1:$UP; keepalive 64; }
  server { listen 127.0.0.1:$NG ssl; ssl_certificate $W/bench.crt; ssl_certificate_key $W/bench.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  location /hello { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
cat >"$W/config.yaml" <<CONF
gateway:
  listen: ["127.0.0.1:$RG"]
  worker_threads: 1
  log_level: warn
  tls: {listen: ["127.0.0.1:$RGT"], fallback_sni: bench.test}
config: {file: $W/apisix.yaml}
CONF
{
  echo "routes:"
  echo "  - {id: hello, uri: /hello, upstream: {nodes: {\"127.0.0.1:$UP\": 1}}}"
  echo "ssls:"
  echo "  - id: bench"
  echo "    snis: [bench.test]"
  echo "    cert: |"; sed 's/^/      /' "$W/bench.crt"
  echo "    key: |"; sed 's/^/      /' "$W/bench.key"
  echo "#END"
} >"$W/apisix.yaml"
nginx -c "$W/up.conf" -p "$W"
nginx -c "$W/px.conf" -p "$W"
("$BIN" --config "$W/config.yaml" >"$W/rg.log" 2>&1 & echo $! >"$W/rg.pid")
for _ in $(seq 50); do curl -sk -o /dev/null "https://127.0.0.1:$RGT/hello" && break; sleep 0.1; done
for u in "https://127.0.0.1:$RGT/hello" "https://127.0.0.1:$NG/hello"; do
  code=$(curl -sk --tlsv1.3 -o /dev/null -w '%{http_code}' "$u")
  [ "$code" = 200 ] || { echo "$u answers $code; radixgate's log:" >&2; cat "$W/rg.log" >&2; exit 1; }
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
load() { # url pid -> "handshakes/s p99_ms cpu_us_per_handshake"
  local t0 t1; t0=$(cpu_ticks "$2")
  local out; out=$(wrk -t1 -c"$CONN" -d"${DUR}s" --latency -H "Connection: close" "$1" 2>&1)
  t1=$(cpu_ticks "$2")
  local rps p99 n cpu
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", (b - a) / hz * 1e6 / n}')
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' <<<"$out")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "note: $1: $(grep "Non-2xx\|Socket errors" <<<"$out" | tr -s ' ')" >&2; fi
  echo "$rps $p99 $cpu"
}
: >"$W/nginx"; : >"$W/radixgate"
NGW=$(pgrep -P "$(cat "$W/px.pid")" | head -1)
RGP=$(cat "$W/rg.pid")
for r in $(seq "$ROUNDS"); do
  n=$(load "https://127.0.0.1:$NG/hello" "$NGW"); g=$(load "https://127.0.0.1:$RGT/hello" "$RGP")
  echo "$n" >>"$W/nginx"; echo "$g" >>"$W/radixgate"
  printf 'round %d  nginx %s hs/s p99 %s ms %s us/hs | radixgate %s hs/s p99 %s ms %s us/hs\n' "$r" $n $g
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
col() { awk -v c="$2" '{print $c}' "$1" | median; }
n_rps=$(col "$W/nginx" 1); g_rps=$(col "$W/radixgate" 1)
n_cpu=$(col "$W/nginx" 3); g_cpu=$(col "$W/radixgate" 3)
n_p99=$(col "$W/nginx" 2); g_p99=$(col "$W/radixgate" 2)
echo "median: nginx $n_rps hs/s (p99 $n_p99 ms, $n_cpu us CPU/hs); radixgate $g_rps hs/s (p99 $g_p99 ms, $g_cpu us CPU/hs)"
awk -v g="$g_rps" -v n="$n_rps" -v gc="$g_cpu" -v nc="$n_cpu" \
  'BEGIN {printf "ratio radixgate/nginx: handshakes/s %.2fx, CPU per handshake %.2fx\n", g/n, gc/nc}'
