#!/usr/bin/env bash
# The plugins' shared store under clients that make up keys: a route with
# limit-count keyed by a request header, and wrk sending KEYS requests,
# each with a key never seen before, through radixgate (release build, one
# worker) with the store capped by plugins.store. Every STEP requests it
# prints the gateway's RSS, the store's entries and evictions (from the
# metrics address) and the load's p99, so that a reader sees RSS level off
# at the cap and p99 stay steady while keys keep coming.
#
#   benches/store/run.sh                     # 10 million keys
#   KEYS=2000000 STEP=500000 benches/store/run.sh
#   MAX_ENTRIES=200000 MAX_BYTES=33554432 benches/store/run.sh
#
# Ports: picks free loopback ports itself. Needs wrk and python3 (make deps).
set -euo pipefail
cd "$(dirname "$0")/../.."
KEYS=${KEYS:-10000000}; STEP=${STEP:-1000000}
MAX_ENTRIES=${MAX_ENTRIES:-1000000}; MAX_BYTES=${MAX_BYTES:-134217728}
TARGET=${CARGO_TARGET_DIR:-target}
if [ "${NOBUILD:-0}" != 1 ]; then
  cargo build --release -p radixgate -p radixgate-plugin-limit-count \
    -p radixgate-plugin-prometheus >&2
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port); GW=$(free_port); PM=$(free_port)
W=$(mktemp -d)
cleanup() {
  [ -f "$W/gw.pid" ] && kill "$(cat "$W/gw.pid")" 2>/dev/null || true
  [ -f "$W/up.pid" ] && kill "$(cat "$W/up.pid")" 2>/dev/null || true
  sleep 0.3; rm -rf "$W"
}
trap cleanup EXIT

# The upstream: nginx answering 200 (the proxy bench's setup).
cat >"$W/up.conf" <<CONF
worker_processes 1; pid $W/up.pid; error_log $W/up.err; daemon on;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$UP; keepalive_requests 100000;
  location / { return 200 "ok\n"; } } }
CONF
nginx -c "$W/up.conf" -p "$W"

mkdir -p "$W/plugins"
# prometheus is loaded (on no route) for the metrics address.
cp "$TARGET/release/libradixgate_plugin_limit_count.so" \
   "$TARGET/release/libradixgate_plugin_prometheus.so" "$W/plugins/"
cat >"$W/config.yaml" <<YAML
gateway:
  listen: ["127.0.0.1:$GW"]
  worker_threads: 1
  log_level: warn
config:
  provider: yaml
  file: $W/apisix.yaml
plugins:
  dir: $W/plugins
  export_addr: 127.0.0.1:$PM
  store:
    max_entries: $MAX_ENTRIES
    max_bytes: $MAX_BYTES
YAML
cat >"$W/apisix.yaml" <<YAML
routes:
  - id: limited
    uri: /limited
    upstream: {nodes: {"127.0.0.1:$UP": 1}}
    plugins:
      limit-count: {count: 100, time_window: 3600, key_type: var, key: http_x_client, rejected_code: 429}
#END
YAML
"$TARGET/release/radixgate" --config "$W/config.yaml" >"$W/gw.log" 2>&1 &
echo $! >"$W/gw.pid"
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$GW/limited" -H 'X-Client: warm' >/dev/null && break; sleep 0.1; done

# Each wrk run continues the key sequence where the last one stopped.
cat >"$W/keys.lua" <<'LUA'
local n = tonumber(os.getenv("FROM"))
request = function()
  n = n + 1
  return wrk.format("GET", "/limited", {["X-Client"] = "client-" .. n})
end
LUA
metric() { curl -s "http://127.0.0.1:$PM/apisix/prometheus/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
echo "store cap: $MAX_ENTRIES entries, $MAX_BYTES bytes; $KEYS distinct keys, a line every $STEP"
echo "idle RSS before the keys: $(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$(cat "$W/gw.pid")/status") MB"
printf '%12s %10s %12s %12s %10s %10s\n' keys rss_mb entries evictions req_s p99_ms
sent=0
while [ "$sent" -lt "$KEYS" ]; do
  FROM=$sent wrk -t1 -c32 -d600s --latency -s "$W/keys.lua" "http://127.0.0.1:$GW" \
    -H 'Connection: keep-alive' >"$W/wrk.out" 2>&1 &
  wrk_pid=$!
  # Stop this run once it sent about STEP requests (wrk has no request cap).
  start=$(date +%s.%N); before=$(metric radixgate_shared_store_evictions_total || echo 0)
  while kill -0 $wrk_pid 2>/dev/null; do
    sleep 1
    done_now=$(python3 -c "print(int(($(metric radixgate_shared_store_entries || echo 0)) + ($(metric radixgate_shared_store_evictions_total || echo 0))))")
    if [ "$done_now" -ge $((sent + STEP)) ]; then kill -INT $wrk_pid 2>/dev/null || true; fi
  done
  wait $wrk_pid 2>/dev/null || true
  sent=$((sent + STEP))
  rss=$(awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$(cat "$W/gw.pid")/status")
  rps=$(awk '/Requests\/sec/ {print $2}' "$W/wrk.out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' "$W/wrk.out")
  printf '%12s %10s %12s %12s %10s %10s\n' "$sent" "$rss" "$(metric radixgate_shared_store_entries)" \
    "$(metric radixgate_shared_store_evictions_total)" "$rps" "$p99"
done
