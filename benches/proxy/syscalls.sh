#!/usr/bin/env bash
# System calls per proxied request: radixgate beside nginx (`proxy_pass`,
# one worker each, the setup of run.sh) at a fixed rate, counted by perf's
# syscall tracepoints on the proxy's process while oha sends load. Shows
# where the kernel's share of a request's CPU comes from: the calls each
# proxy makes, its context switches, and its CPU per request (perf's
# task-clock; user and kernel time from /proc, in ticks of 10 ms).
#
#   NOBUILD=1 BIN=<saved build> RATE=15000 ROUNDS=3 benches/proxy/syscalls.sh
#
# Needs nginx, oha (`cargo install oha --locked`) and perf with access to
# the syscalls tracepoints (root, or perf_event_paranoid <= -1).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}; RATE=${RATE:-15000}; CONN=${CONN:-64}
. benches/proxy/oha_bench.sh perf

. benches/proxy/nginx_pair.sh
start_bare_pair
RG=$(free_port)
start_radixgate "$BIN" default "$RG" ", keepalive_requests: 100000"
for _ in $(seq 50); do [ -s "$W/px.pid" ] && pgrep -P "$(cat "$W/px.pid")" >/dev/null && break; sleep 0.1; done
NGW=$(pgrep -P "$(cat "$W/px.pid")" | head -1) # nginx's worker process
echo "load: oha -c$CONN -q$RATE -z8s; perf stat on the proxy for 4 s of it; $ROUNDS rounds, alternating"

EVENTS=raw_syscalls:sys_enter
for c in recvfrom writev epoll_wait getsockopt; do EVENTS+=",syscalls:sys_enter_$c"; done
EVENTS+=",context-switches,task-clock"

# measure NAME PID PORT: one round's counts per request, on one line.
measure() {
  "$OHA" -c"$CONN" -q"$RATE" -z8s --no-tui --output-format json "http://127.0.0.1:$3/hello" >"$W/oha.json" &
  local load=$!
  sleep 2
  local before; before=$(cut -d' ' -f14,15 "/proc/$2/stat")
  perf stat -x, -e "$EVENTS" -p "$2" -o "$W/perf.txt" -- sleep 4 >/dev/null 2>&1 || true
  local after; after=$(cut -d' ' -f14,15 "/proc/$2/stat")
  wait "$load"
  python3 - "$1" "$RATE" "$W/perf.txt" "$W/oha.json" "$before" "$after" "$(getconf CLK_TCK)" <<'PY'
import json, sys
who, rate, perf, oha = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
(u0, s0), (u1, s1) = (map(int, a.split()) for a in sys.argv[5:7])
tick = 1e6 / int(sys.argv[7])  # microseconds
d = json.load(open(oha))
bad = sum(v for k, v in d.get("statusCodeDistribution", {}).items() if k != "200")
requests = rate * 4  # the rate is held: oha's requests in perf's 4 s
out = []
for line in open(perf):
    f = line.strip().split(",")
    if len(f) < 3 or not f[0] or not f[0][0].isdigit():
        continue
    name = f[2].replace("raw_syscalls:sys_enter", "all syscalls").replace("syscalls:sys_enter_", "")
    per = float(f[0]) / requests
    out.append(f"CPU {per * 1000:.1f} us" if name == "task-clock" else f"{name} {per:.2f}")
user, system = (u1 - u0) * tick / requests, (s1 - s0) * tick / requests
out.append(f"user {user:.1f} us, kernel {system:.1f} us")
print(f"{who}: " + ", ".join(out) + f" per request ({bad} non-200)")
PY
}
for r in $(seq "$ROUNDS"); do
  echo "round $r"
  measure "  nginx" "$NGW" "$NG"
  measure "  radixgate" "$(cat "$W/rg-default.pid")" "$RG"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
