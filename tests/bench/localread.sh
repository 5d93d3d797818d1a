#!/usr/bin/env bash
# Local reads (the issue on same-host reads): liboffheap's GET from
# offheapd's shared mapping, over its Unix socket, and hiredis against
# redis-server's Unix socket, in one run. Server on SERVER_CPU, reader on
# CLIENT_CPU. Sizes: LR_KEYS (1 M entries of ~100 B), LR_SECS, LR_SAMPLES.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/bench/lib.sh
BENCH=${LR_BENCH:-build/localread_bench}
dir=$(mktemp -d /tmp/oh-lr-XXXXXX)
trap 'stop_all; rm -rf "$dir"' EXIT
port=$(free_port 1)
rport=$(free_port 2)
start_offheapd "$port" --unixsocket "$dir/offheapd.sock"
start_redis "$rport" --unixsocket "$dir/redis.sock" --unixsocketperm 700
taskset -c "$CLIENT_CPU" "$BENCH" "$dir/offheapd.sock" "$dir/redis.sock"
echo "offheapd RSS after the run: $(($(rss_bytes "$(pid_of_port "$port")") / 1048576)) MiB"
