#!/usr/bin/env bash
# Where a fixed-rate run's tail latency comes from: radixgate beside nginx
# (`proxy_pass`, one worker each, the setup of run.sh) under oha at RATE
# (default 28500, about half of nginx's peak here) with
# --latency-correction, in alternating rounds. For 5 s of each round perf
# records the scheduler's switch and wakeup events on every CPU; printed
# for the proxy's worker, the upstream's worker and oha's two busiest
# threads: how often and how long each waited runnable for a CPU, how
# often and how long it slept, and who took the CPU from the proxy's
# worker while it could run. PIN=1 pins both proxies to CPU 0 and the
# upstream to CPU 1 (oha is left free).
#
#   NOBUILD=1 BIN=<saved build> ROUNDS=2 [PIN=1] benches/proxy/sched.sh
#
# Needs nginx, oha (`cargo install oha --locked`) and perf with access to
# the sched tracepoints (root).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-2}; RATE=${RATE:-28500}; CONN=${CONN:-64}
. benches/proxy/oha_bench.sh perf taskset

. benches/proxy/nginx_pair.sh
start_bare_pair
RG=$(free_port)
start_radixgate "$BIN" default "$RG" ", keepalive_requests: 100000"
RGP=$(cat "$W/rg-default.pid")
RGW=$(grep -l '^worker-0$' /proc/"$RGP"/task/*/comm | head -1 | cut -d/ -f5)
NGW=$(pgrep -P "$(cat "$W/px.pid")" | head -1)
UPW=$(pgrep -P "$(cat "$W/up.pid")" | head -1)
if [ "${PIN:-0}" = 1 ]; then
  taskset -pc 1 "$UPW" >/dev/null
  taskset -pc 0 "$NGW" >/dev/null
  taskset -apc 0 "$RGP" >/dev/null
fi
echo "load: oha -c$CONN -q$RATE -z8s --latency-correction; perf record of the scheduler for 5 s of it; $ROUNDS rounds, alternating; pinned: ${PIN:-0}"

# report PERF_SCRIPT_TEXT PROXY_TID UPSTREAM_TID
report() {
  python3 - "$@" <<'PY'
import collections, re, sys
text, proxy, upstream = sys.argv[1], sys.argv[2], sys.argv[3]
event = re.compile(r'\s(\d+\.\d+):\s+sched:(sched_switch|sched_wakeup):\s(.*)$')
switch = re.compile(r'prev_comm=(.*) prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+)')
woken = re.compile(r'\bpid=(\d+)\b')
runnable, asleep = {}, {}
waits, sleeps = collections.defaultdict(list), collections.defaultdict(list)
took_cpu = collections.Counter()
switched_in = collections.Counter()
for line in open(text, errors='replace'):
    m = event.search(line)
    if not m:
        continue
    t, kind, rest = float(m.group(1)), m.group(2), m.group(3)
    if kind == 'sched_wakeup':
        w = woken.search(rest)
        if w and w.group(1) not in runnable:
            tid = w.group(1)
            runnable[tid] = t
            if tid in asleep:
                sleeps[tid].append(t - asleep.pop(tid))
        continue
    s = switch.search(rest)
    if not s:
        continue
    prev, state, next_comm, nxt = s.group(2), s.group(3), s.group(4), s.group(5)
    if state.startswith('R'):
        runnable[prev] = t
        if prev == proxy:
            took_cpu[next_comm] += 1
    else:
        asleep[prev] = t
    switched_in[nxt] += 1
    if nxt in runnable:
        waits[nxt].append(t - runnable.pop(nxt))
def line(name, tid):
    w, s = waits[tid], sleeps[tid]
    ms = lambda xs: 1000 * max(xs, default=0)
    return (f"    {name}: waited for a CPU {len(w)} times, {1000 * sum(w):.0f} ms in all, "
            f"longest {ms(w):.1f} ms; slept {len(s)} times, longest {ms(s):.1f} ms")
print(line('proxy worker', proxy))
print(line('upstream worker', upstream))
busiest = [t for t, _ in switched_in.most_common() if t not in (proxy, upstream, '0')][:2]
for t in busiest:
    print(line(f'load generator thread {t}', t))
print('    took the CPU from the proxy worker while it could run: ' +
      ', '.join(f'{c} {n}' for c, n in took_cpu.most_common(3)))
PY
}
for r in $(seq "$ROUNDS"); do
  for who in nginx radixgate; do
    if [ "$who" = nginx ]; then port=$NG; tid=$NGW; else port=$RG; tid=$RGW; fi
    "$OHA" -c"$CONN" -q"$RATE" -z8s --latency-correction --no-tui --output-format json \
      "http://127.0.0.1:$port/hello" >"$W/oha.json" &
    load=$!
    sleep 1
    perf record -q -e sched:sched_switch,sched:sched_wakeup -a -o "$W/perf.data" -- sleep 5 >/dev/null 2>&1 || true
    wait "$load"
    perf script -i "$W/perf.data" 2>/dev/null >"$W/sched.txt"
    python3 -c 'import json, sys; p = json.load(open(sys.argv[1]))["latencyPercentiles"]
print("round %s, %s: p50 %.2f p99 %.2f p99.9 %.2f ms" % (sys.argv[2], sys.argv[3], 1e3 * p["p50"], 1e3 * p["p99"], 1e3 * p["p99.9"]))' \
      "$W/oha.json" "$r" "$who"
    report "$W/sched.txt" "$tid" "$UPW"
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
