#!/bin/bash
# Warm restart: loads GB gigabytes of values (default 1) into offheapd,
# SAVEs the snapshot, stops it, starts it again and measures the time from
# exec to the first PONG and to every key back (INFO loading:0 and DBSIZE
# equal to what was saved). Reports seconds per GB of snapshot (target
# <= 0.5 s/GB), with the server on one core and on all of them. The snapshot is read from the page cache (a warm file),
# as after a restart; a cold disk adds its read time. The polling
# redis-cli calls run on CLIENT_CPU (lib.sh's convention).
#   tests/bench/restart.sh          (GB=1 VALUE=1000 bytes per value)
cd "$(dirname "$0")/../.." || exit 1
. tests/bench/lib.sh
GB=${GB:-1}
VALUE=${VALUE:-1000}
DIR=$(mktemp -d /tmp/oh-restart-XXXXXX)
trap 'stop_all; rm -rf "$DIR"' EXIT

keys=$(awk -v gb="$GB" -v v="$VALUE" 'BEGIN {printf "%d", gb * 1e9 / (v + 16)}')
port=$(free_port 3)
now() { date +%s.%N; }
cli() { taskset -c "$CLIENT_CPU" redis-cli -p "$port" "$@"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f", b - a}'; }

start_offheapd "$port" --dir "$DIR" --snapshot-file dump.offheap || exit 1
echo "loading $keys keys of $VALUE bytes ($GB GB of values)"
t0=$(now)
awk -v n="$keys" -v size="$VALUE" 'BEGIN {
    v = sprintf("%*s", size, ""); gsub(/ /, "x", v)
    for (i = 0; i < n; i++) {
        k = "key:" i
        printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, size, v
    }
}' | redis-cli -p "$port" --pipe >/dev/null || exit 1
echo "  filled in $(since "$t0") s; dbsize $(redis-cli -p "$port" dbsize)"
t0=$(now)
redis-cli -p "$port" save >/dev/null
save_s=$(since "$t0")
bytes=$(stat -c %s "$DIR/dump.offheap")
echo "  SAVE: $save_s s for $bytes bytes"
saved=$(redis-cli -p "$port" dbsize)
redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
stop_all

# restart_once LABEL CPUS: restarts offheapd on CPUS (taskset list) and
# reports the time until every key is back.
restart_once() {
    local label=$1 cpus=$2 ping_s="" saw_loading=no out back_s
    t0=$(now)
    # shellcheck disable=SC2086
    taskset -c "$cpus" "$OFFHEAPD" --port "$port" --dir "$DIR" --loglevel warning \
        ${OFFHEAPD_ARGS:-} >/dev/null 2>&1 &
    BENCH_PIDS="$!"
    for _ in $(seq 1 20000); do
        if [ -z "$ping_s" ] && [ "$(cli ping 2>/dev/null)" = PONG ]; then
            ping_s=$(since "$t0")
        fi
        if [ -n "$ping_s" ]; then
            # one connection per poll (fewer client start-ups between samples)
            out=$(printf 'GET key:0\r\nINFO persistence\r\nDBSIZE\r\n' | cli 2>&1)
            case "$out" in LOADING*) saw_loading=yes ;; esac
            if grep -q '^loading:0' <<<"$out" &&
                [ "$(tail -n 1 <<<"$out")" = "$saved" ]; then
                break
            fi
        fi
        sleep 0.005
    done
    back_s=$(since "$t0")
    cli shutdown nosave >/dev/null 2>&1 # keeps the snapshot for the next run
    wait "$BENCH_PIDS" 2>/dev/null
    echo "  restart ($label): first PONG after $ping_s s, all $saved keys back after $back_s s (-LOADING seen: $saw_loading)"
    awk -v s="$back_s" -v b="$bytes" -v l="$label" 'BEGIN {
        printf "restart (%s): %.3f s per GB of snapshot (target <= 0.5)\n", l, s / (b / 1e9) }'
}

# Pinned to one core, as the other benches run the server; then on every
# core, as a service runs (the load faults its segments in on a second
# thread when it may use another CPU).
restart_once "one core" "$SERVER_CPU"
restart_once "all cores" "0-$(($(nproc) - 1))"
