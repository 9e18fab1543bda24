#!/usr/bin/env bash
# Instructions per proxied request, counted by valgrind's callgrind: the
# same for the same binary and inputs whatever else the machine is doing,
# so a same-run A/B of two builds shows differences of a few percent that
# req/s and CPU time on a shared machine cannot. Cycles are not counted:
# an atomic add or a cache miss costs one instruction here, so confirm a
# change that trades those with run.sh.
#
# Each build (one worker, under callgrind) serves /bare (no plugin) and
# /plugins (key-auth + limit-count + prometheus, the run.sh PLUGINS=1
# route) from the nginx upstream; after a warm-up the counters are zeroed,
# h2load sends N requests on one connection, and the counters are dumped
# once the log phases have run.
#
#   benches/proxy/instructions.sh                      # the release build
#   BUILDS="/tmp/a /tmp/b" N=2000 benches/proxy/instructions.sh
#       # saved builds: each dir holds radixgate and the three plugin .so
#   KEEP=/tmp/cg benches/proxy/instructions.sh   # keeps each count's callgrind file
#
# Needs valgrind, nginx and h2load (make deps installs nginx and h2load).
set -euo pipefail
cd "$(dirname "$0")/../.."
for c in valgrind callgrind_control nginx h2load curl python3; do
  command -v $c >/dev/null || { echo "missing $c (apt-get install -y valgrind; make deps)" >&2; exit 2; }
done
N=${N:-2000}
TARGET=${CARGO_TARGET_DIR:-target}
BUILDS=${BUILDS:-}
if [ -z "$BUILDS" ]; then
  cargo build --release -p radixgate -p radixgate-plugin-key-auth -p radixgate-plugin-limit-count \
    -p radixgate-plugin-prometheus >&2
  BUILDS=$TARGET/release
fi

. benches/proxy/nginx_pair.sh
nginx -c "$W/up.conf" -p "$W"
plugins_apisix_yaml plugins "  - {id: bare, uri: /bare, upstream: {nodes: {\"127.0.0.1:$UP\": 1}}}
" >"$W/apisix.yaml"
echo "callgrind: instructions per request, $N requests on one connection after 300 of warm-up"

# count BUILD_DIR PATH -> instructions per request
count() {
  local dir=$1 path=$2 port pid
  rm -rf "$W/plugins" "$W"/callgrind.*
  install_plugins "$dir" "$W/plugins"
  chmod -R go-w "$W/plugins"
  port=$(free_port)
  {
    echo "gateway: {listen: [\"127.0.0.1:$port\"], worker_threads: 1, log_level: warn, keepalive_requests: 100000}"
    echo "config: {file: $W/apisix.yaml}"
    echo "admin: {listen: \"127.0.0.1:$(free_port)\"}"
    echo "plugins: {dir: $W/plugins, export_addr: 127.0.0.1:$(free_port)}"
  } >"$W/config.yaml"
  valgrind --tool=callgrind --callgrind-out-file="$W/callgrind.%p" \
    "$dir/radixgate" --config "$W/config.yaml" >"$W/rg-cg.log" 2>&1 &
  pid=$!; echo $pid >"$W/rg-cg.pid"
  measure $pid "http://127.0.0.1:$port/$path"
}

# nginx as the proxy (run.sh's configuration, no master process), the
# same way: its instructions per request beside radixgate's. PATH /bare is
# run.sh's location; /forwarded also sets the five X-Forwarded-* and
# X-Real-IP headers radixgate sets for the node (APISIX's behaviour).
nginx_count() {
  local path=$1 port pid
  port=$(free_port)
  cat >"$W/px-cg.conf" <<NGX
master_process off; daemon off; worker_processes 1; pid $W/px-cg.pid; error_log $W/px-cg.err;
events { worker_connections 4096; }
http { access_log off; upstream up { server 127.0.0.1:$UP; keepalive 64; }
  server { listen 127.0.0.1:$port; keepalive_requests 100000;
  location /bare { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
  location /forwarded { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; proxy_set_header X-Real-IP \$remote_addr;
    proxy_set_header X-Forwarded-Proto \$scheme; proxy_set_header X-Forwarded-Host \$host;
    proxy_set_header X-Forwarded-Port \$server_port; } } }
NGX
  rm -f "$W"/callgrind.*
  valgrind --tool=callgrind --callgrind-out-file="$W/callgrind.%p" \
    nginx -c "$W/px-cg.conf" -p "$W" >"$W/px-cg.log" 2>&1 &
  pid=$!; echo $pid >"$W/rg-nginx.pid"
  measure $pid "http://127.0.0.1:$port/$path"
}

# measure PID URL -> instructions per request of PID serving URL
measure() {
  local pid=$1 url=$2 out
  for _ in $(seq 300); do curl -s -o /dev/null "$url" && break; sleep 0.2; done
  h2load --h1 -n 300 -c 1 -H "apikey: bench-key" "$url" >/dev/null
  sleep 1; callgrind_control -z $pid >/dev/null 2>&1
  out=$(h2load --h1 -n "$N" -c 1 -H "apikey: bench-key" "$url")
  grep -q "status codes: $N 2xx" <<<"$out" || { echo "not every request answered 2xx:" >&2; echo "$out" >&2; exit 1; }
  sleep 2; callgrind_control -d $pid >/dev/null 2>&1; sleep 1
  kill $pid; wait $pid 2>/dev/null || true
  # The dump after the zeroing is part 1. KEEP=<dir> keeps it for
  # callgrind_annotate.
  [ -z "${KEEP:-}" ] || cp "$W/callgrind.$pid.1" "$KEEP/callgrind.$pid.$(basename "$url")"
  awk -v n="$N" '/^(summary|totals):/ {printf "%.0f", $2 / n; exit}' "$W/callgrind.$pid.1"
}

ng=$(nginx_count bare)
echo "nginx: bare $ng instructions per request"
echo "nginx: with radixgate's X-Forwarded-* and X-Real-IP set, $(nginx_count forwarded) instructions per request"
for dir in $BUILDS; do
  bare=$(count "$dir" bare); plugins=$(count "$dir" plugins)
  printf "%s: bare %s (%.2fx nginx), three plugins %s (%.2fx nginx bare) instructions per request\n" \
    "$dir" "$bare" "$(awk -v a="$bare" -v b="$ng" 'BEGIN {print a / b}')" \
    "$plugins" "$(awk -v a="$plugins" -v b="$ng" 'BEGIN {print a / b}')"
done
