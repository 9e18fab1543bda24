#!/usr/bin/env bash
# http-logger's cost: one radixgate (ONE worker) with two routes to the same
# nginx upstream, `/bare` without plugins and `/logged` with http-logger
# (batched: batch_max_size 1000, inactive_timeout 1) posting to an nginx
# sink location; wrk alternates between the two routes, same run, same
# load. Prints each round and the medians.
#
#   benches/loggers/run.sh                # builds the release binaries first
#   ROUNDS=5 DUR=8 CONN=64 NOBUILD=1 benches/loggers/run.sh
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
  cargo build --release -p radixgate -p radixgate-plugin-http-logger >&2
fi
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(nginx -v 2>&1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "load: wrk -t1 -c$CONN -d${DUR}s, $ROUNDS rounds each, alternating"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port); RG=$(free_port)
W=$(mktemp -d)
cleanup() {
  [ -f "$W/rg.pid" ] && kill "$(cat "$W/rg.pid")" 2>/dev/null || true
  [ -f "$W/up.pid" ] && kill "$(cat "$W/up.pid")" 2>/dev/null || true
  sleep 0.3; rm -rf "$W"
}
trap cleanup EXIT

cat >"$W/up.conf" <<CONF
worker_processes 1; pid $W/up.pid; error_log $W/up.err; daemon on;
events { worker_connections 4096; }
http { access_log off; client_body_buffer_size 4m; client_max_body_size 16m;
  log_format sink '\$request_length'; server { listen 127.0.0.1:$UP; keepalive_requests 100000;
  location /logs { access_log $W/sink.log sink; return 200; }
  location / { return 200 "hello world\n"; } } }
CONF
mkdir -p "$W/plugins"; chmod 700 "$W/plugins"
cp "$TARGET/release/libradixgate_plugin_http_logger.so" "$W/plugins/"
cat >"$W/config.yaml" <<CONF
gateway: {listen: ["127.0.0.1:$RG"], worker_threads: 1, log_level: warn}
config: {file: $W/apisix.yaml}
plugins: {dir: $W/plugins}
CONF
cat >"$W/apisix.yaml" <<CONF
routes:
  - {id: bare, uri: /bare, upstream: {nodes: {"127.0.0.1:$UP": 1}}}
  - id: logged
    uri: /logged
    upstream: {nodes: {"127.0.0.1:$UP": 1}}
    plugins:
      http-logger: {uri: "http://127.0.0.1:$UP/logs", batch_max_size: 1000, inactive_timeout: 1}
#END
CONF
nginx -c "$W/up.conf" -p "$W"
("$BIN" --config "$W/config.yaml" >"$W/rg.log" 2>&1 & echo $! >"$W/rg.pid")
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$RG/bare" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$RG/logged" >/dev/null || { echo "the logged route does not answer"; cat "$W/rg.log"; exit 1; }

declare -A RPS
for r in $(seq "$ROUNDS"); do
  for route in bare logged; do
    out=$(wrk -t1 -c"$CONN" -d"${DUR}s" "http://127.0.0.1:$RG/$route")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    RPS[$route]+="$rps "
    echo "round $r $route: $rps req/s"
  done
done
sleep 2
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
b=$(median <<<"${RPS[bare]}"); l=$(median <<<"${RPS[logged]}")
echo "median: bare $b req/s, http-logger $l req/s ($(python3 -c "print(f'{$l/$b*100:.1f}')")% of bare)"
echo "sink: $(wc -l <"$W/sink.log") batches received"
