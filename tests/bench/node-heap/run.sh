#!/bin/sh
# node-heap: 1 M cached entries in lru-cache vs in offheapd (through the
# offheap binding), then the binding's throughput vs ioredis. Run from the
# repository root after `make client-node`:
#   tests/bench/node-heap/run.sh [entries] [seconds] [rps]
# offheapd is pinned to core 0 and node to core 1 (SERVER_CPU/CLIENT_CPU).
set -eu
cd "$(dirname "$0")/../../.."
. tests/bench/lib.sh
ENTRIES=${1:-1000000}
SECONDS_LOAD=${2:-10}
RPS=${3:-20000}
B=tests/bench/node-heap/bench.js
port=$(free_port 7)
sock=/tmp/ohbench-$$.sock
trap 'kill $BENCH_PIDS 2>/dev/null; rm -f $sock' EXIT INT TERM
start_offheapd "$port" --unixsocket "$sock" --unixsocketperm 700 --maxmemory 2gb
N="taskset -c $CLIENT_CPU node"
echo "== heap: $ENTRIES entries, then $SECONDS_LOAD s at $RPS req/s (90 % GET + JSON.parse, 10 % SET)"
$N --expose-gc $B heap lru - "$ENTRIES" "$SECONDS_LOAD" "$RPS"
$N --expose-gc $B heap offheap "unix:$sock" "$ENTRIES" "$SECONDS_LOAD" "$RPS"
echo "== throughput, 200 calls in flight, TCP 127.0.0.1:$port"
$N $B tput offheap "127.0.0.1:$port"
$N $B tput ioredis "127.0.0.1:$port"
$N $B tput ioredis-auto "127.0.0.1:$port"
