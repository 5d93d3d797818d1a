#!/usr/bin/env bash
# node-local: local reads from Node next to lru-cache, lmdb-js and ioredis,
# in one run, then 8 worker processes sharing 1 M entries through offheapd
# against 8 that each hold them in an lru-cache. Run from anywhere after
# `make client-node`:
#   tests/bench/node-local/run.sh [entries] [secs]
# offheapd on SERVER_CPU, node on CLIENT_CPU (the workers use both).
set -euo pipefail
cd "$(dirname "$0")/../../.."
. tests/bench/lib.sh
ENTRIES=${1:-1000000}
SECS=${2:-2}
D=tests/bench/node-local
[ -d "$D/node_modules/lmdb" ] || (cd "$D" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
port=$(free_port 8)
dir=$(mktemp -d /tmp/oh-nl-XXXXXX)
sock=$dir/offheapd.sock
trap 'stop_all; rm -rf "$dir"' EXIT INT TERM
start_offheapd "$port" --unixsocket "$sock" --unixsocketperm 700
N="taskset -c $CLIENT_CPU node --expose-gc"
echo "== one Node thread, $ENTRIES entries of ~100 B, random present keys, one read at a time"
for k in lru lmdb getSync get socket ioredis; do
    $N $D/bench.js reads $k "$sock" "$ENTRIES" "$SECS"
done
pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
workers() { # workers <kind>: 8 processes; prints RSS and PSS summed
    local kind=$1 pids="" out
    out=$(mktemp)
    for _ in 1 2 3 4 5 6 7 8; do
        node --expose-gc $D/bench.js worker "$kind" "$sock" "$ENTRIES" >>"$out" &
        pids="$pids $!"
    done
    while [ "$(wc -l <"$out")" -lt 8 ]; do sleep 0.2; done
    local rss=0 pss=0 p
    for p in $pids; do
        rss=$((rss + $(rss_kb "$p"))); pss=$((pss + $(pss_kb "$p")))
    done
    local srv
    srv=$(pid_of_port "$port")
    if [ "$kind" = offheap ]; then
        rss=$((rss + $(rss_kb "$srv"))); pss=$((pss + $(pss_kb "$srv")))
    fi
    echo "{\"workers\":8,\"kind\":\"$kind\",\"rss_sum_mb\":$((rss / 1024)),\"pss_sum_mb\":$((pss / 1024)),\"heap_used_mb\":[$(sed -n 's/.*"heap_used_mb":\([0-9.]*\).*/\1/p' "$out" | paste -sd,)]$( [ "$kind" = offheap ] && echo ",\"offheapd_included\":true")}"
    kill $pids 2>/dev/null || true
    wait $pids 2>/dev/null || true
    rm -f "$out"
}
echo "== 8 worker processes, $ENTRIES entries each can read"
workers lru
workers offheap
