#!/usr/bin/env bash
# Resident memory per idle keep-alive client connection: radixgate beside
# nginx (`proxy_pass`, one worker each, the setup of run.sh). For each
# proxy: its worker's RSS, then N connections that each sent one request,
# read the answer and stay open idle, then its RSS again; prints the
# difference per connection, and radixgate's ratio to nginx.
#
#   benches/proxy/idle.sh                       # builds the release binary first
#   N=10000 SERVERS="hyper native" NOBUILD=1 benches/proxy/idle.sh
#
# Raises the open-file limit to N + 1024 for itself and what it starts.
set -euo pipefail
cd "$(dirname "$0")/../.."
for c in nginx python3; do
  command -v $c >/dev/null || { echo "missing $c (make deps installs nginx)" >&2; exit 2; }
done
N=${N:-10000}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/radixgate}
SERVERS=${SERVERS:-default}
[ "${NOBUILD:-0}" = 1 ] || cargo build --release -p radixgate >&2
ulimit -n $((N + 1024))
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(nginx -v 2>&1)"
echo "idle keep-alive connections: $N per proxy, each after one request"

. benches/proxy/nginx_pair.sh
cat >"$W/px.conf" <<CONF
worker_processes 1; worker_rlimit_nofile $((N + 1024)); pid $W/px.pid; error_log $W/px.err; daemon on;
events { worker_connections $((N + 512)); }
http { access_log off; upstream up { server 127.0.0.1:$UP; keepalive 64; }
  server { listen 127.0.0.1:$NG; keepalive_requests 100000; keepalive_timeout 300s;
  location /hello { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
write_bare_routes
nginx -c "$W/up.conf" -p "$W"
nginx -c "$W/px.conf" -p "$W"
declare -A PORT PID
for s in $SERVERS; do
  PORT[$s]=$(free_port)
  h1=""; [ "$s" != default ] && h1=", http1_server: $s"
  start_radixgate "$BIN" "$s" "${PORT[$s]}" ", keepalive_timeout: 300, max_connections: $((N + 512))$h1"
  PID[$s]=$(cat "$W/rg-$s.pid")
done
NGW=$(pgrep -P "$(cat "$W/px.pid")" | head -1)   # nginx's one worker process

# Opens N connections to the port, one request each, keeps them open,
# prints the worker's RSS (kB) before and while they are open.
measure() { # port pid
  python3 - "$1" "$2" "$N" <<'PY'
import socket, sys, time
port, pid, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
req = b"GET /hello HTTP/1.1\r\nHost: bench\r\n\r\n"
# Warm: a few requests, so that buffers made once are in the baseline.
for _ in range(64):
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(req); s.recv(4096); s.close()
time.sleep(0.5)
before = rss()
conns = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    got = s.recv(4096)
    if not got.startswith(b"HTTP/1.1 200"):
        sys.exit(f"connection {i}: {got[:60]!r}")
    conns.append(s)
time.sleep(1.0)
after = rss()
print(before, after)
for s in conns:
    s.close()
PY
}
read nb na < <(measure "$NG" "$NGW")
printf "nginx: RSS %d kB -> %d kB with %d idle connections: %.0f bytes per connection\n" \
  "$nb" "$na" "$N" "$(awk -v a="$na" -v b="$nb" -v n="$N" 'BEGIN {print (a - b) * 1024 / n}')"
for s in $SERVERS; do
  read gb ga < <(measure "${PORT[$s]}" "${PID[$s]}")
  printf "radixgate(%s): RSS %d kB -> %d kB with %d idle connections: %.0f bytes per connection (%.2fx nginx's, target <= 1x)\n" \
    "$s" "$gb" "$ga" "$N" "$(awk -v a="$ga" -v b="$gb" -v n="$N" 'BEGIN {print (a - b) * 1024 / n}')" \
    "$(awk -v a="$ga" -v b="$gb" -v c="$na" -v d="$nb" 'BEGIN {print (a - b) / (c - d)}')"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
