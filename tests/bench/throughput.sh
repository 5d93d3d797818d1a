#!/bin/bash
# P1: redis-benchmark GET/SET at pipeline 1 and 16 against offheapd and
# redis-server in the same run, each server pinned to one core and the load
# generator to the other. Reports the median requests/s of ROUNDS runs, the
# server CPU per request (µs) and the ratios offheapd / Redis. Server CPU
# is perf stat's task-clock over all the server's threads (ns resolution),
# or /proc CPU ticks (10 ms) where perf is missing.
#   tests/bench/throughput.sh            (ROUNDS=5 N=200000 CLIENTS=50)
cd "$(dirname "$0")/../.." || exit 1
. tests/bench/lib.sh
ROUNDS=${ROUNDS:-5}
N=${N:-200000}
CLIENTS=${CLIENTS:-50}
trap stop_all EXIT

oh_port=$(free_port 1)
start_offheapd "$oh_port" || exit 1
rd_port=$(free_port 2)
start_redis "$rd_port" || exit 1

PERF_OK=$(perf stat -e task-clock -x, true 2>&1 >/dev/null | grep -c task-clock)
# run <port> <test> <pipeline> -> "rps cpu_us_per_request"
run() {
    pid=$(pid_of_port "$1")
    t0=$(cpu_ticks "$pid")
    if [ "$PERF_OK" = 1 ]; then
        out=$(mktemp)
        perf stat -e task-clock -x, -p "$pid" -o "$out" 2>/dev/null &
        perf_pid=$!
        sleep 0.1
    fi
    rps=$(taskset -c "$CLIENT_CPU" redis-benchmark -p "$1" -n "$N" -c "$CLIENTS" -P "$3" \
        -t "$2" -r 100000 -d 32 --csv 2>/dev/null | awk -F'"' 'NR == 2 {print $4}')
    t1=$(cpu_ticks "$pid")
    hz=$(getconf CLK_TCK)
    ms=""
    if [ "$PERF_OK" = 1 ]; then
        kill -INT "$perf_pid" 2>/dev/null
        wait "$perf_pid" 2>/dev/null
        ms=$(awk -F, '/task-clock/ {print $1}' "$out")
        rm -f "$out"
    fi
    awk -v r="$rps" -v a="$t0" -v b="$t1" -v hz="$hz" -v n="$N" -v ms="$ms" \
        'BEGIN {printf "%s %.4f\n", r, (ms != "" ? ms * 1000 : (b - a) * 1000000 / hz) / n}'
}

printf '%-6s %-3s %14s %14s %8s %12s %12s %8s\n' test P "offheapd rps" "redis rps" ratio \
    "oh cpu us/r" "rd cpu us/r" "cpu ratio"
for t in set get; do
    for p in 1 16; do
        oh_rps=() rd_rps=() oh_cpu=() rd_cpu=()
        for _ in $(seq 1 "$ROUNDS"); do
            read -r a b <<<"$(run "$oh_port" "$t" "$p")"
            oh_rps+=("$a") oh_cpu+=("$b")
            read -r a b <<<"$(run "$rd_port" "$t" "$p")"
            rd_rps+=("$a") rd_cpu+=("$b")
        done
        o=$(printf '%s\n' "${oh_rps[@]}" | median)
        r=$(printf '%s\n' "${rd_rps[@]}" | median)
        oc=$(printf '%s\n' "${oh_cpu[@]}" | median)
        rc=$(printf '%s\n' "${rd_cpu[@]}" | median)
        awk -v t="$t" -v p="$p" -v o="$o" -v r="$r" -v oc="$oc" -v rc="$rc" 'BEGIN {
            printf "%-6s %-3s %14.0f %14.0f %8.2f %12.3f %12.3f %8.2f\n", t, p, o, r,
                o / r, oc, rc, (rc > 0 ? oc / rc : 0)}'
    done
done
