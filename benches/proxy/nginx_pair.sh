# Sourced by the proxy benches (run.sh, idle.sh, latency.sh, floor.sh,
# syscalls.sh, sched.sh, instructions.sh) from the repository's root: free_port, the ports $UP
# (the upstream) and $NG (nginx as the proxy), a work dir $W removed on
# exit with every process whose pid file it holds, and $W/up.conf: the
# nginx upstream answering `hello world\n` on $UP, one worker. The caller
# writes the proxy's config (or calls write_proxy_conf) and starts both.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port); NG=$(free_port)
W=$(mktemp -d)
cleanup() {
  for p in "$W"/rg-*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
  for p in "$W/up.pid" "$W/px.pid"; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
  sleep 0.3
  # One that ignored the TERM (an io_uring wait under valgrind does) is killed.
  for p in "$W"/rg-*.pid; do [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT

cat >"$W/up.conf" <<CONF
worker_processes 1; pid $W/up.pid; error_log $W/up.err; daemon on;
events { worker_connections 4096; }
http { access_log off; server { listen 127.0.0.1:$UP; keepalive_requests 100000;
  location / { return 200 "hello world\n"; } } }
CONF

# write_proxy_conf [WORKERS]: $W/px.conf, nginx as the proxy on $NG
# (proxy_pass to the upstream, keepalive 64; one worker unless WORKERS);
# write_bare_routes: $W/apisix.yaml, radixgate's one bare route /hello.
write_proxy_conf() {
  cat >"$W/px.conf" <<CONF
worker_processes ${1:-1}; pid $W/px.pid; error_log $W/px.err; daemon on;
events { worker_connections 4096; }
http { access_log off; upstream up { server 127.0.0.1:$UP; keepalive 64; }
  server { listen 127.0.0.1:$NG; keepalive_requests 100000;
  location /hello { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
CONF
}
write_bare_routes() {
  cat >"$W/apisix.yaml" <<CONF
routes:
  - {id: hello, uri: /hello, upstream: {nodes: {"127.0.0.1:$UP": 1}}}
#END
CONF
}

# start_bare_pair: the upstream and nginx as the proxy (write_proxy_conf,
# one worker) started, radixgate's bare route written.
start_bare_pair() {
  write_proxy_conf
  write_bare_routes
  nginx -c "$W/up.conf" -p "$W"
  nginx -c "$W/px.conf" -p "$W"
}

# start_radixgate BIN NAME PORT FIELDS: radixgate BIN listening on PORT
# with $W/apisix.yaml, one worker, `gateway` FIELDS (", key: value...")
# after the log level; its config, log and pid file (stopped on exit) are
# $W/config-NAME.yaml, $W/rg-NAME.log and $W/rg-NAME.pid. Returns once
# /hello answers (or after 5 s).
start_radixgate() {
  {
    echo "gateway: {listen: [\"127.0.0.1:$3\"], worker_threads: 1, log_level: warn$4}"
    echo "config: {file: $W/apisix.yaml}"
    echo "admin: {listen: \"127.0.0.1:$(free_port)\"}"
  } >"$W/config-$2.yaml"
  ("$1" --config "$W/config-$2.yaml" >"$W/rg-$2.log" 2>&1 & echo $! >"$W/rg-$2.pid")
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$3/hello" && break; sleep 0.1; done
}

# The three plugins radixgate's plugin benches load (key-auth, limit-count,
# prometheus): `install_plugins SO_DIR DIR` copies their .so files from a
# build into a plugin dir; `plugins_apisix_yaml ID EXTRA` prints an
# apisix.yaml whose route ID (at /ID, on the upstream) carries all three,
# the route lines EXTRA after it, and the consumer whose key is bench-key.
install_plugins() {
  mkdir -p "$2"
  for n in key_auth limit_count prometheus; do cp "$1/libradixgate_plugin_$n.so" "$2/"; done
}
plugins_apisix_yaml() {
  cat <<CONF
routes:
  - id: $1
    uri: /$1
    upstream: {nodes: {"127.0.0.1:$UP": 1}}
    plugins:
      key-auth: {}
      limit-count: {count: 1000000000, time_window: 60, rejected_code: 503}
      prometheus: {}
${2:-}consumers:
  - username: bench
    plugins: {key-auth: {key: bench-key}}
#END
CONF
}
