#!/usr/bin/env bash
# HTTP/2 towards clients: radixgate beside nginx on loopback, one run, the
# same load. h2load (Debian's nghttp2-client) over a few long h2c
# connections against nginx (`listen ... http2`, `proxy_pass` to an
# HTTP/1.1 upstream, keepalive 64) and against radixgate
# (`gateway.http2.enable`), ONE worker each, in front of the same nginx
# upstream returning a 12-byte body. Then gRPC unary calls (etcd's
# KV/Range, etcd being the node of both) through nginx's `grpc_pass` and
# through radixgate's `scheme: grpc`. Then, with TLS=1 (the default), h2
# over TLS (ALPN h2) with one ECDSA P-256 certificate: nginx `listen ...
# ssl http2` beside radixgate's `gateway.tls` (the certificate an `ssls`
# object, reached through `fallback_sni`: h2load sends no SNI to an IP
# address), the same upstream. Rounds alternate between the two;
# prints each round, the medians, and radixgate's ratio to nginx, with each
# proxy's CPU time per request (user+sys of its worker, from /proc).
# keepalive_requests is 10M on every server: at 100k a connection ends
# (GOAWAY) within a round and h2load's req/s becomes 4 x 100k / DUR.
#
#   benches/h2/run.sh                     # builds the release binary first
#   ROUNDS=5 DUR=8 CONN=4 STREAMS=16 benches/h2/run.sh
#   NOBUILD=1 BIN=/tmp/a/radixgate benches/h2/run.sh
#   GRPC=0 TLS=0 benches/h2/run.sh       # h2c only
#
# Ports: picks free loopback ports itself. Needs nginx, h2load, etcd (make deps).
set -euo pipefail
cd "$(dirname "$0")/../.."
for c in nginx h2load nghttp python3 etcd; do
  command -v $c >/dev/null || { echo "missing $c (make deps installs it)" >&2; exit 2; }
done
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-5}; CONN=${CONN:-4}; STREAMS=${STREAMS:-16}; GRPC=${GRPC:-1}; TLS=${TLS:-1}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/radixgate}
if [ "${NOBUILD:-0}" != 1 ]; then
  cargo build --release -p radixgate >&2
fi
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(nginx -v 2>&1); $(h2load --version | head -1)"
echo "load: h2load -c$CONN -m$STREAMS -D$DUR (h2c prior knowledge), $ROUNDS rounds each, alternating"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port); NG=$(free_port); RG=$(free_port); EC=$(free_port); EP=$(free_port)
NGS=$(free_port); RGS=$(free_port)
W=$(mktemp -d)
cleanup() {
  [ -f "$W/rg.pid" ] && kill "$(cat "$W/rg.pid")" 2>/dev/null || true
  [ -f "$W/etcd.pid" ] && kill "$(cat "$W/etcd.pid")" 2>/dev/null || true
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
http { access_log off; server { listen 127.0.0.1:$UP; keepalive_requests 10000000;
  location / { return 200 "hello world\n"; } } }
CONF
cat >"$W/px.conf" <<CONF
worker_processes 1; pid $W/px.pid; error_log $W/px.err; daemon on;
events { worker_connections 4096; }
http { access_log off; upstream up { server 127.0.0.1:$UP; keepalive 64; }
  upstream etcd { server 127.0.0.1:$EC; keepalive 64; }
  server { listen 127.0.0.1:$NG http2; keepalive_requests 10000000;
    location /hello { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location /etcdserverpb.KV/ { grpc_pass grpc://etcd; } }
  server { listen 127.0.0.1:$NGS ssl http2; keepalive_requests 10000000;
    ssl_certificate $W/bench.crt; ssl_certificate_key $W/bench.key; ssl_protocols TLSv1.3;
    location /hello { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
cat >"$W/config.yaml" <<CONF
gateway: {listen: ["127.0.0.1:$RG"], worker_threads: 1, log_level: warn,
  keepalive_requests: 10000000, http2: {enable: true},
  tls: {listen: ["127.0.0.1:$RGS"], fallback_sni: bench.test}}
config: {file: $W/apisix.yaml}
CONF
cat >"$W/apisix.yaml" <<CONF
routes:
  - {id: hello, uri: /hello, upstream: {nodes: {"127.0.0.1:$UP": 1}}}
  - {id: etcd, uri: /etcdserverpb.KV/*, upstream: {scheme: grpc, nodes: {"127.0.0.1:$EC": 1}}}
ssls:
  - id: bench
    snis: [bench.test]
    cert: |
$(sed 's/^/      /' "$W/bench.crt")
    key: |
$(sed 's/^/      /' "$W/bench.key")
#END
CONF
nginx -c "$W/up.conf" -p "$W"
nginx -c "$W/px.conf" -p "$W"
("$BIN" --config "$W/config.yaml" >"$W/rg.log" 2>&1 & echo $! >"$W/rg.pid")
for _ in $(seq 50); do curl -s -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$RG/hello" && break; sleep 0.1; done
code=$(curl -s -o /dev/null -w '%{http_code}' --http2-prior-knowledge "http://127.0.0.1:$RG/hello")
[ "$code" = 200 ] || { echo "radixgate answers $code on /hello; its log:" >&2; cat "$W/rg.log" >&2; exit 1; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
load() { # url pid [h2load args...] -> "req/s cpu_us_per_request"
  local url=$1 pid=$2; shift 2
  local t0 t1; t0=$(cpu_ticks "$pid")
  local out; out=$(h2load -c"$CONN" -m"$STREAMS" -D"$DUR" "$@" "$url" 2>&1)
  t1=$(cpu_ticks "$pid")
  local rps n cpu
  rps=$(awk '/^finished in/ {print $4}' <<<"$out")
  n=$(awk '/^requests:/ {print $8}' <<<"$out")   # succeeded
  local failed; failed=$(awk '/^requests:/ {print $10}' <<<"$out")
  [ "${failed:-0}" = 0 ] || echo "warning: $failed failed requests on $url" >&2
  cpu=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (n > 0) ? (b - a) / hz * 1e6 / n : 0}')
  echo "$rps $cpu"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
NGW=$(pgrep -P "$(cat "$W/px.pid")" | head -1)   # nginx's one worker process
RGP=$(cat "$W/rg.pid")
compare() { # label nginx-url radixgate-url [h2load args...]
  local label=$1 nu=$2 gu=$3; shift 3
  : >"$W/n"; : >"$W/g"
  for r in $(seq "$ROUNDS"); do
    local n g; n=$(load "$nu" "$NGW" "$@"); g=$(load "$gu" "$RGP" "$@")
    echo "$n" >>"$W/n"; echo "$g" >>"$W/g"
    printf "%s round %d: nginx %s req/s cpu %s us/req | radixgate %s req/s cpu %s us/req\n" "$label" "$r" $n $g
  done
  local nr gr nc gc
  nr=$(cut -d' ' -f1 "$W/n" | median); gr=$(cut -d' ' -f1 "$W/g" | median)
  nc=$(cut -d' ' -f2 "$W/n" | median); gc=$(cut -d' ' -f2 "$W/g" | median)
  printf "%s median: nginx %s req/s cpu %s us/req | radixgate %s req/s cpu %s us/req\n" "$label" "$nr" "$nc" "$gr" "$gc"
  printf "%s ratio radixgate/nginx: %.2fx req/s (target >= 1.0x), cpu per request %.2fx\n" "$label" \
    "$(awk -v a="$gr" -v b="$nr" 'BEGIN {print a / b}')" "$(awk -v a="$gc" -v b="$nc" 'BEGIN {print a / b}')"
}
compare h2 "http://127.0.0.1:$NG/hello" "http://127.0.0.1:$RG/hello"

if [ "$GRPC" = 1 ]; then
  (etcd --name b --data-dir "$W/etcd" --listen-client-urls "http://127.0.0.1:$EC" \
     --advertise-client-urls "http://127.0.0.1:$EC" --listen-peer-urls "http://127.0.0.1:$EP" \
     --initial-advertise-peer-urls "http://127.0.0.1:$EP" --initial-cluster "b=http://127.0.0.1:$EP" \
     --log-level error >"$W/etcd.log" 2>&1 & echo $! >"$W/etcd.pid")
  for _ in $(seq 100); do curl -s "http://127.0.0.1:$EC/health" | grep -q true && break; sleep 0.1; done
  # A gRPC message: uncompressed, 3 bytes, RangeRequest { key: "k" }.
  printf '\x00\x00\x00\x00\x03\x0a\x01k' >"$W/range.bin"
  # Both proxies must answer the call with grpc-status 0 (h2load counts
  # HTTP statuses only).
  for port in "$NG" "$RG"; do
    nghttp -v -d "$W/range.bin" -H "content-type: application/grpc" -H "te: trailers" \
      "http://127.0.0.1:$port/etcdserverpb.KV/Range" 2>&1 | grep -q "grpc-status: 0" \
      || { echo "the gRPC call through 127.0.0.1:$port does not end with grpc-status 0" >&2; exit 1; }
  done
  echo "grpc: etcd KV/Range unary calls (POST, content-type application/grpc); etcd is the node of both"
  compare grpc "http://127.0.0.1:$NG/etcdserverpb.KV/Range" "http://127.0.0.1:$RG/etcdserverpb.KV/Range" \
    -d "$W/range.bin" -H "content-type: application/grpc" -H "te: trailers"
fi

if [ "$TLS" = 1 ]; then
  # Both must negotiate h2 by ALPN (h2load would fall back to http/1.1).
  for port in "$NGS" "$RGS"; do
    v=$(curl -sk --http2 -o /dev/null -w '%{http_code} %{http_version}' "https://127.0.0.1:$port/hello")
    [ "$v" = "200 2" ] || { echo "https://127.0.0.1:$port/hello answers '$v', not '200 2'" >&2; exit 1; }
  done
  echo "h2tls: h2 over TLS 1.3 (ALPN h2, ECDSA P-256), connections opened once per round"
  compare h2tls "https://127.0.0.1:$NGS/hello" "https://127.0.0.1:$RGS/hello"
fi
