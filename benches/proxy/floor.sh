#!/usr/bin/env bash
# The floor of a proxy on this machine, beside nginx and radixgate in one
# run: benches/proxy/floor (proxy-floor) forwards HTTP/1.1 requests with
# nothing but a parse on each side, on tokio's current-thread runtime
# (epoll, as a radixgate worker), on monoio over io_uring and on monoio
# over epoll. Alternating wrk rounds as in run.sh (one worker each, the
# same nginx upstream); per proxy: req/s and the CPU per request split in
# user and system time (from /proc). It answers two questions: how far a
# proxy on this runtime can get beside nginx at all, and whether io_uring
# takes system time off (issue 16's spike).
#
#   benches/proxy/floor.sh                    # builds proxy-floor and radixgate (release)
#   ROUNDS=5 DUR=5 benches/proxy/floor.sh
#   NOBUILD=1 BIN=/tmp/a/radixgate MODES="tokio monoio-uring" benches/proxy/floor.sh
#   CG=1 benches/proxy/floor.sh               # then instructions per request under
#                                             # callgrind, as instructions.sh counts them
#
# Needs nginx, wrk and curl (make deps); CG=1 also valgrind and h2load.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-5}; CONN=${CONN:-64}
MODES=${MODES:-"tokio monoio-uring monoio-epoll"}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
BIN=${BIN:-$TARGET/release/radixgate}
FLOOR=$TARGET/floor/release/proxy-floor
if [ "${NOBUILD:-0}" != 1 ]; then
  cargo build --release -p radixgate >&2
fi
[ -x "$FLOOR" ] && [ "${NOBUILD:-0}" = 1 ] || \
  CARGO_TARGET_DIR=$TARGET/floor cargo build --release --locked \
    --manifest-path benches/proxy/floor/Cargo.toml >&2
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(nginx -v 2>&1)"
echo "load: wrk -t1 -c$CONN -d${DUR}s, $ROUNDS rounds each, alternating; one worker per proxy"

. benches/proxy/nginx_pair.sh
start_bare_pair

# start NAME PORT [valgrind...]: radixgate or a proxy-floor mode on PORT,
# its pid in $W/rg-NAME.pid (removed with the work dir's processes on exit).
start() {
  local name=$1 port=$2; shift 2
  if [ "$name" = radixgate ]; then
    {
      echo "gateway: {listen: [\"127.0.0.1:$port\"], worker_threads: 1, log_level: warn, keepalive_requests: 100000}"
      echo "config: {file: $W/apisix.yaml}"
      echo "admin: {listen: \"127.0.0.1:$(free_port)\"}"
    } >"$W/config.yaml"
    ("$@" "$BIN" --config "$W/config.yaml" >"$W/$name.log" 2>&1 & echo $! >"$W/rg-$name.pid")
  else
    ("$@" "$FLOOR" "$name" "127.0.0.1:$port" "127.0.0.1:$UP" >"$W/$name.log" 2>&1 & echo $! >"$W/rg-$name.pid")
  fi
}
declare -A PORT
for m in $MODES radixgate; do
  PORT[$m]=$(free_port); start "$m" "${PORT[$m]}"
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:${PORT[$m]}/hello" && break; sleep 0.1; done
  [ "$(curl -s "http://127.0.0.1:${PORT[$m]}/hello")" = "hello world" ] || {
    echo "$m does not answer /hello; its log:" >&2; cat "$W/$m.log" >&2; exit 1; }
done

ticks() { # pids -> "user sys" ticks of all their threads
  local p; for p in $1; do cat "/proc/$p/stat"; done | awk '{u += $14; s += $15} END {print u, s}'
}
load() { # url pids -> "req/s user_us sys_us" per request
  local t0 t1 out; t0=$(ticks "$2")
  out=$(wrk -t1 -c"$CONN" -d"${DUR}s" "$1" 2>&1); t1=$(ticks "$2")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "warning: errors in $1:" >&2; grep "Non-2xx\|Socket errors" <<<"$out" >&2; fi
  awk -v t0="$t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" '
    /Requests\/sec/ {r = $2} /requests in/ {n = $1}
    END {split(t0, a, " "); split(t1, b, " ");
         printf "%s %.2f %.2f", r, (b[1] - a[1]) / hz * 1e6 / n, (b[2] - a[2]) / hz * 1e6 / n}' <<<"$out"
}
NGW=$(pgrep -P "$(cat "$W/px.pid")" | tr '\n' ' ')
for r in $(seq "$ROUNDS"); do
  n=$(load "http://127.0.0.1:$NG/hello" "$NGW"); echo "$n" >>"$W/nginx"
  line="round $r (req/s user sys us/req): nginx $n"
  for m in $MODES radixgate; do
    g=$(load "http://127.0.0.1:${PORT[$m]}/hello" "$(cat "$W/rg-$m.pid")"); echo "$g" >>"$W/m-$m"
    line+=" | $m $g"
  done
  echo "$line"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
summary() { # file -> "req/s user sys total" medians
  local f=$1; echo "$(cut -d' ' -f1 "$f" | median) $(cut -d' ' -f2 "$f" | median)" \
    "$(cut -d' ' -f3 "$f" | median) $(awk '{print $2 + $3}' "$f" | median)"
}
read -r nr nu ns nc <<<"$(summary "$W/nginx")"
printf "median nginx: %s req/s, CPU %s us/req (user %s, sys %s)\n" "$nr" "$nc" "$nu" "$ns"
for m in $MODES radixgate; do
  read -r gr gu gs gc <<<"$(summary "$W/m-$m")"
  printf "median %s: %s req/s, CPU %s us/req (user %s, sys %s); beside nginx %.2fx req/s, %.2fx CPU/req\n" \
    "$m" "$gr" "$gc" "$gu" "$gs" "$(awk -v a="$gr" -v b="$nr" 'BEGIN {print a / b}')" \
    "$(awk -v a="$gc" -v b="$nc" 'BEGIN {print a / b}')"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

[ "${CG:-0}" = 1 ] || exit 0
# Instructions per request under callgrind: instructions.sh's measure.
N=${N:-2000}
eval "$(sed -n '/^measure()/,/^}/p' benches/proxy/instructions.sh)"
for m in $MODES radixgate; do kill "$(cat "$W/rg-$m.pid")"; done
for m in $MODES radixgate; do
  port=$(free_port); rm -f "$W"/callgrind.*
  start "$m" "$port" valgrind --tool=callgrind --callgrind-out-file="$W/callgrind.%p"
  echo "$m: $(measure "$(cat "$W/rg-$m.pid")" "http://127.0.0.1:$port/hello") instructions per request (callgrind)"
  # measure's TERM does not end monoio's io_uring wait under valgrind.
  kill -9 "$(cat "$W/rg-$m.pid")" 2>/dev/null || true
done
