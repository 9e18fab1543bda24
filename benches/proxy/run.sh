#!/usr/bin/env bash
# radixgate beside nginx on loopback, one run, the same load: wrk against
# nginx `proxy_pass` (keepalive 64) and against radixgate, each with ONE
# worker, both in front of the same nginx upstream returning a 12-byte body.
# Rounds alternate between the two so that machine noise hits both alike;
# prints each round, the medians, and radixgate's ratio to nginx. Beside
# req/s and p99 it prints each proxy's CPU time per request (user+sys of
# the proxy's worker process, from /proc), which the machine's other load
# disturbs less than req/s does, and the kernel's share of it (sys %).
#
#   benches/proxy/run.sh                  # builds the release binary first
#   ROUNDS=5 DUR=8 CONN=64 benches/proxy/run.sh
#   PLUGINS=1 benches/proxy/run.sh        # radixgate's route carries key-auth +
#                                         # limit-count + prometheus (nginx stays bare)
#   NOBUILD=1 BIN=/tmp/a/radixgate SO_DIR=/tmp/a benches/proxy/run.sh   # a saved build
#   SERVERS="hyper native" benches/proxy/run.sh   # one radixgate per gateway.http1_server
#                                         # value, all in the same alternation (A/B)
#   NOBUILD=1 BUILDS="/tmp/a /tmp/b" benches/proxy/run.sh   # saved builds (each dir holds
#                                         # radixgate and the plugin .so files), all in the
#                                         # same alternation (A/B of two commits)
#   WORKERS=4 THREADS=2 benches/proxy/run.sh   # nginx with 4 worker processes beside
#                                         # radixgate with 4 worker threads; wrk -t2
#
# Ports: picks free loopback ports itself. Needs nginx and wrk (make deps).
set -euo pipefail
cd "$(dirname "$0")/../.."
for c in nginx wrk python3; do
  command -v $c >/dev/null || { echo "missing $c (make deps installs nginx and wrk)" >&2; exit 2; }
done
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-5}; CONN=${CONN:-64}
# Workers of each proxy (nginx worker processes, radixgate worker threads)
# and wrk's threads.
WORKERS=${WORKERS:-1}; THREADS=${THREADS:-1}
TARGET=${CARGO_TARGET_DIR:-target}
# BIN and SO_DIR (the plugin .so files) may name a copy of an earlier build
# (A/B runs); NOBUILD=1 skips cargo.
BIN=${BIN:-$TARGET/release/radixgate}
SO_DIR=${SO_DIR:-$TARGET/release}
PLUGINS=${PLUGINS:-0}
# gateway.http1_server of each radixgate run beside nginx ("default": the
# config's default); more than one makes a same-run A/B of the servers.
SERVERS=${SERVERS:-default}
# Saved builds, each run with every SERVERS value; default: BIN and SO_DIR.
BUILDS=${BUILDS:-}
if [ "${NOBUILD:-0}" != 1 ]; then
  cargo build --release -p radixgate >&2
  if [ "$PLUGINS" = 1 ]; then
    cargo build --release -p radixgate-plugin-key-auth -p radixgate-plugin-limit-count \
      -p radixgate-plugin-prometheus >&2
  fi
fi
echo "machine: $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg); $(nginx -v 2>&1); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "load: wrk -t$THREADS -c$CONN -d${DUR}s --latency, $ROUNDS rounds each, alternating; $WORKERS worker(s) per proxy"

. benches/proxy/nginx_pair.sh
PM=$(free_port)
write_proxy_conf "$WORKERS"
WRK_HEADER=()
if [ "$PLUGINS" = 1 ]; then
  WRK_HEADER=(-H "apikey: bench-key")
  plugins_apisix_yaml hello >"$W/apisix.yaml"
  echo "radixgate route plugins: key-auth + limit-count + prometheus (nginx: none)"
else
write_bare_routes
fi
nginx -c "$W/up.conf" -p "$W"
nginx -c "$W/px.conf" -p "$W"
# One radixgate per build and server: RUNS holds their names, "<build>/<server>"
# with more than one build, else the server's.
declare -A RGPORT RGBIN RGSO
RUNS=""
for s in $SERVERS; do
  if [ -z "$BUILDS" ]; then
    RUNS+=" $s"; RGBIN[$s]=$BIN; RGSO[$s]=$SO_DIR
  else
    for b in $BUILDS; do
      k="$(basename "$b")/$s"; RUNS+=" $k"; RGBIN[$k]=$b/radixgate; RGSO[$k]=$b
    done
  fi
done
for k in $RUNS; do
  s=${k#*/}; f=${k//\//-}
  RGPORT[$k]=$(free_port)
  h1=""; [ "$s" != default ] && h1=", http1_server: $s"
  [ "$PLUGINS" = 1 ] && install_plugins "${RGSO[$k]}" "$W/plugins-$f"
  {
    echo "gateway: {listen: [\"127.0.0.1:${RGPORT[$k]}\"], worker_threads: $WORKERS, log_level: warn, keepalive_requests: 100000$h1}"
    echo "config: {file: $W/apisix.yaml}"
    echo "admin: {listen: \"127.0.0.1:$(free_port)\"}"
    [ "$PLUGINS" = 1 ] && echo "plugins: {dir: $W/plugins-$f, export_addr: 127.0.0.1:$(free_port)}"
  } >"$W/config-$f.yaml"
  ("${RGBIN[$k]}" --config "$W/config-$f.yaml" >"$W/rg-$f.log" 2>&1 & echo $! >"$W/rg-$f.pid")
  for _ in $(seq 50); do curl -s -o /dev/null -H "apikey: bench-key" "http://127.0.0.1:${RGPORT[$k]}/hello" && break; sleep 0.1; done
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "apikey: bench-key" "http://127.0.0.1:${RGPORT[$k]}/hello")
  [ "$code" = 200 ] || { echo "radixgate ($k) answers $code on /hello; its log:" >&2; cat "$W/rg-$f.log" >&2; exit 1; }
done

cpu_ticks() { # pids -> "user+sys sys" ticks
  local p; for p in $1; do cat "/proc/$p/stat"; done | awk '{t += $14 + $15; s += $15} END {print t, s}'
}
load() { # url pids -> "req/s p99_ms cpu_us_per_request sys_percent_of_cpu"
  local t0 t1; t0=$(cpu_ticks "$2")
  local out; out=$(wrk -t"$THREADS" -c"$CONN" -d"${DUR}s" --latency "${WRK_HEADER[@]}" "$1" 2>&1)
  t1=$(cpu_ticks "$2")
  local rps p99 n cpu sys
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  cpu=$(awk -v a="${t0% *}" -v b="${t1% *}" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / hz * 1e6 / n}')
  sys=$(awk -v a="${t0% *}" -v b="${t1% *}" -v c="${t0#* }" -v d="${t1#* }" 'BEGIN {printf "%.0f", (b > a) ? (d - c) * 100 / (b - a) : 0}')
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' <<<"$out")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "warning: errors in $1:" >&2; grep "Non-2xx\|Socket errors" <<<"$out" >&2; fi
  echo "$rps $p99 $cpu $sys"
}
: >"$W/nginx"
NGW=$(pgrep -P "$(cat "$W/px.pid")" | tr '\n' ' ')   # nginx's worker processes
for r in $(seq "$ROUNDS"); do
  n=$(load "http://127.0.0.1:$NG/hello" "$NGW"); echo "$n" >>"$W/nginx"
  line=$(printf "round %d: nginx %s req/s p99 %s ms cpu %s us/req (sys %s%%)" "$r" $n)
  for k in $RUNS; do
    f=${k//\//-}
    g=$(load "http://127.0.0.1:${RGPORT[$k]}/hello" "$(cat "$W/rg-$f.pid")"); echo "$g" >>"$W/rg-$f"
    line+=$(printf " | radixgate(%s) %s req/s p99 %s ms cpu %s us/req (sys %s%%)" "$k" $g)
  done
  echo "$line"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
nr=$(cut -d' ' -f1 "$W/nginx" | median); np=$(cut -d' ' -f2 "$W/nginx" | median)
nc=$(cut -d' ' -f3 "$W/nginx" | median); ns=$(cut -d' ' -f4 "$W/nginx" | median)
printf "median: nginx %s req/s p99 %s ms cpu %s us/req (sys %s%%)\n" "$nr" "$np" "$nc" "$ns"
target=1.2; [ "$PLUGINS" = 1 ] && target=1.0   # docs/performance.md: with the three plugins, >= 1.0x bare nginx
for k in $RUNS; do
  f=${k//\//-}
  gr=$(cut -d' ' -f1 "$W/rg-$f" | median); gp=$(cut -d' ' -f2 "$W/rg-$f" | median)
  gc=$(cut -d' ' -f3 "$W/rg-$f" | median); gs=$(cut -d' ' -f4 "$W/rg-$f" | median)
  printf "median: radixgate(%s) %s req/s p99 %s ms cpu %s us/req (sys %s%%)\n" "$k" "$gr" "$gp" "$gc" "$gs"
  printf "ratio radixgate(%s)/nginx: %.2fx req/s (target >= ${target}x), p99 %.2fx (target <= 1x), cpu per request %.2fx\n" "$k" \
    "$(awk -v a="$gr" -v b="$nr" 'BEGIN {print a / b}')" \
    "$(awk -v a="$gp" -v b="$np" 'BEGIN {print a / b}')" \
    "$(awk -v a="$gc" -v b="$nc" 'BEGIN {print a / b}')"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
