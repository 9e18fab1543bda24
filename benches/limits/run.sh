#!/usr/bin/env bash
# limit-count's policies beside the bare route and nginx, in one run: wrk
# against nginx `proxy_pass` and against four routes of ONE radixgate (one
# worker), all in front of the same nginx upstream: /bare (no plugin),
# /local (limit-count, policy local), /redis (policy redis: one EVAL per
# request to a redis-server started here) and /sync (policy redis with
# sync_interval 1: counted in process, pushed once a second). The limit is
# never reached (count 10^9): what is measured is the cost of counting.
# Rounds alternate between the five targets so that machine noise hits all
# alike; prints each round, the medians and each target's ratio to nginx,
# with the proxy's CPU time per request (user+sys from /proc).
#
#   benches/limits/run.sh                 # builds the release binary and plugin first
#   ROUNDS=5 DUR=8 CONN=64 benches/limits/run.sh
#   NOBUILD=1 BIN=/tmp/a/radixgate SO_DIR=/tmp/a benches/limits/run.sh
#
# Ports: picks free loopback ports itself. Needs nginx, wrk, redis-server.
set -euo pipefail
cd "$(dirname "$0")/../.."
for c in nginx wrk python3 redis-server redis-cli curl; do
  command -v $c >/dev/null || { echo "missing $c (make deps installs it)" >&2; exit 2; }
done
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-5}; CONN=${CONN:-64}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/radixgate}
SO_DIR=${SO_DIR:-$TARGET/release}
if [ "${NOBUILD:-0}" != 1 ]; then
  cargo build --release -p radixgate -p radixgate-plugin-limit-count >&2
fi
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(nginx -v 2>&1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(redis-server --version | cut -d' ' -f1-3)"
echo "load: wrk -t1 -c$CONN -d${DUR}s --latency, $ROUNDS rounds each, alternating"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port); NG=$(free_port); RG=$(free_port); RD=$(free_port)
W=$(mktemp -d)
cleanup() {
  [ -f "$W/rg.pid" ] && kill "$(cat "$W/rg.pid")" 2>/dev/null || true
  for p in "$W/up.pid" "$W/px.pid" "$W/redis.pid"; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
  sleep 0.3; rm -rf "$W"
}
trap cleanup EXIT

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
  server { listen 127.0.0.1:$NG; keepalive_requests 100000;
  location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
mkdir -p "$W/plugins"
cp "$SO_DIR/libradixgate_plugin_limit_count.so" "$W/plugins/"
cat >"$W/config.yaml" <<CONF
gateway: {listen: ["127.0.0.1:$RG"], worker_threads: 1, log_level: warn, keepalive_requests: 100000}
config: {file: $W/apisix.yaml}
plugins: {dir: $W/plugins}
CONF
LIMIT="count: 1000000000, time_window: 60, rejected_code: 503"
REDIS="policy: redis, redis_host: 127.0.0.1, redis_port: $RD"
cat >"$W/apisix.yaml" <<CONF
upstreams:
  - {id: up, nodes: {"127.0.0.1:$UP": 1}}
routes:
  - {id: bare, uri: /bare, upstream_id: up}
  - {id: local, uri: /local, upstream_id: up, plugins: {limit-count: {$LIMIT}}}
  - {id: redis, uri: /redis, upstream_id: up, plugins: {limit-count: {$LIMIT, $REDIS}}}
  - {id: sync, uri: /sync, upstream_id: up, plugins: {limit-count: {$LIMIT, $REDIS, sync_interval: 1}}}
#END
CONF
redis-server --port "$RD" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --pidfile "$W/redis.pid" --dir "$W" --logfile "$W/redis.log" >/dev/null
nginx -c "$W/up.conf" -p "$W"
nginx -c "$W/px.conf" -p "$W"
("$BIN" --config "$W/config.yaml" >"$W/rg.log" 2>&1 & echo $! >"$W/rg.pid")
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$RG/bare" && break; sleep 0.1; done
for r in bare local redis sync; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RG/$r")
  [ "$code" = 200 ] || { echo "radixgate answers $code on /$r; its log:" >&2; cat "$W/rg.log" >&2; exit 1; }
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
load() { # url pid -> "req/s p99_ms cpu_us_per_request"
  local t0 t1; t0=$(cpu_ticks "$2")
  local out; out=$(wrk -t1 -c"$CONN" -d"${DUR}s" --latency "$1" 2>&1)
  t1=$(cpu_ticks "$2")
  local rps p99 n cpu
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / hz * 1e6 / n}')
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' <<<"$out")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "warning: errors in $1:" >&2; grep "Non-2xx\|Socket errors" <<<"$out" >&2; fi
  echo "$rps $p99 $cpu"
}
NGW=$(pgrep -P "$(cat "$W/px.pid")" | head -1)   # nginx's one worker process
RGP=$(cat "$W/rg.pid")
TARGETS=(nginx bare local redis sync)
for t in "${TARGETS[@]}"; do : >"$W/$t"; done
for r in $(seq "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    if [ "$t" = nginx ]; then v=$(load "http://127.0.0.1:$NG/hello" "$NGW")
    else v=$(load "http://127.0.0.1:$RG/$t" "$RGP"); fi
    echo "$v" >>"$W/$t"
    printf "round %d: %-6s %s req/s p99 %s ms cpu %s us/req\n" "$r" "$t" $v
  done
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
nr=$(cut -d' ' -f1 "$W/nginx" | median)
echo "median req/s, p99 ms, cpu us/req, req/s ratio to nginx:"
for t in "${TARGETS[@]}"; do
  rr=$(cut -d' ' -f1 "$W/$t" | median); rp=$(cut -d' ' -f2 "$W/$t" | median); rc=$(cut -d' ' -f3 "$W/$t" | median)
  printf "  %-6s %s req/s  p99 %s ms  cpu %s us/req  %.2fx\n" "$t" "$rr" "$rp" "$rc" "$(awk -v a="$rr" -v b="$nr" 'BEGIN {print a / b}')"
done
echo "redis: $(redis-cli -p "$RD" INFO commandstats | grep -E '^cmdstat_eval:' | cut -d, -f1)"
