#!/usr/bin/env bash
# Latency at a fixed rate, corrected for coordinated omission: radixgate
# beside nginx (`proxy_pass`, one worker each, the setup of run.sh). First
# nginx's peak (wrk, -c$CONN, $DUR s), then at RATE (default: half of that
# peak) oha with --latency-correction against each proxy in alternating
# rounds; prints p50, p99 and p99.9 of every round, the medians, and
# radixgate's p99 ratio to nginx's (target <= 1x).
#
#   NOBUILD=1 BIN=<saved build> SERVERS="hyper native" benches/proxy/latency.sh
#   RATE=20000 ROUNDS=3 DUR=10 OHA=/path/to/oha benches/proxy/latency.sh
#
# Needs nginx, wrk and oha (`cargo install oha --locked`).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}; DUR=${DUR:-10}; CONN=${CONN:-64}
SERVERS=${SERVERS:-default}
. benches/proxy/oha_bench.sh wrk

. benches/proxy/nginx_pair.sh
start_bare_pair
declare -A PORT
for s in $SERVERS; do
  PORT[$s]=$(free_port)
  h1=""; [ "$s" != default ] && h1=", http1_server: $s"
  start_radixgate "$BIN" "$s" "${PORT[$s]}" ", keepalive_requests: 100000$h1"
done

if [ -z "${RATE:-}" ]; then
  peak=$(wrk -t1 -c"$CONN" -d"${DUR}s" "http://127.0.0.1:$NG/hello" | awk '/Requests\/sec/ {print $2}')
  RATE=$(awk -v p="$peak" 'BEGIN {printf "%d", p / 2}')
  echo "nginx peak: $peak req/s (wrk -t1 -c$CONN -d${DUR}s); fixed rate: $RATE req/s"
fi
echo "load: oha -c$CONN -q$RATE -z${DUR}s --latency-correction, $ROUNDS rounds each, alternating"

# oha at the fixed rate -> "p50 p99 p99.9" in ms, and its error count.
fixed() {
  "$OHA" -c"$CONN" -q"$RATE" -z"${DUR}s" --latency-correction --no-tui --output-format json "$1" \
    | python3 -c '
import json, sys
d = json.load(sys.stdin)
p = d.get("latencyPercentiles", {})
ms = lambda k: 1000 * (p.get(k) or 0)
# Requests still in flight when the time is up are not failures.
errors = sum(v for k, v in d.get("errorDistribution", {}).items() if "deadline" not in k)
codes = d.get("statusCodeDistribution", {})
bad = sum(v for k, v in codes.items() if k != "200")
print("%.3f %.3f %.3f %d" % (ms("p50"), ms("p99"), ms("p99.9"), errors + bad))'
}
: >"$W/nginx"
for r in $(seq "$ROUNDS"); do
  n=$(fixed "http://127.0.0.1:$NG/hello"); echo "$n" >>"$W/nginx"
  line=$(printf "round %d: nginx p50 %s p99 %s p99.9 %s ms (%s errors)" "$r" $n)
  for s in $SERVERS; do
    g=$(fixed "http://127.0.0.1:${PORT[$s]}/hello"); echo "$g" >>"$W/rg-$s"
    line+=$(printf " | radixgate(%s) p50 %s p99 %s p99.9 %s ms (%s errors)" "$s" $g)
  done
  echo "$line"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
col() { cut -d' ' -f"$2" "$1" | median; }
printf "median: nginx p50 %s p99 %s p99.9 %s ms\n" "$(col "$W/nginx" 1)" "$(col "$W/nginx" 2)" "$(col "$W/nginx" 3)"
for s in $SERVERS; do
  printf "median: radixgate(%s) p50 %s p99 %s p99.9 %s ms; p99 %.2fx nginx's (target <= 1x)\n" "$s" \
    "$(col "$W/rg-$s" 1)" "$(col "$W/rg-$s" 2)" "$(col "$W/rg-$s" 3)" \
    "$(awk -v a="$(col "$W/rg-$s" 2)" -v b="$(col "$W/nginx" 2)" 'BEGIN {print a / b}')"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
