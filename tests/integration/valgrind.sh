#!/usr/bin/env bash
# valgrind.sh: offheapd under valgrind's memcheck, driven through every
# engine path a client can reach (writes, reads, overwrites, large values,
# expiry, eviction at a small maxmemory, compaction after deletes, SCAN,
# errors, protocol violations, a snapshot save and load), then stopped:
# memcheck must report no error and no definitely or indirectly lost block.
#
# offheapd links jemalloc statically, so memcheck is told to replace the
# malloc of the main executable (--soname-synonyms=somalloc=NONE). The
# sanitizer build (make asan) cannot run under valgrind: there the script
# reports that it skipped. Prints one line per check and, last,
# "N passed, N failed".
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OFFHEAPD=${OFFHEAPD:-$ROOT/build/offheapd}
READY_WAIT=300 # x 0.1 s to wait for PING (valgrind starts slowly)
PID=
TMP=$(mktemp -d /tmp/oh-vg-XXXXXX)
# shellcheck source=../support/checks.sh
. "$ROOT/tests/support/checks.sh"

finish() {
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -KILL "$PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap finish EXIT

done_now() {
    checks_summary
    exit
}

if ldd "$OFFHEAPD" 2>/dev/null | grep -q 'libasan'; then
    echo "# $OFFHEAPD is a sanitizer build: valgrind cannot run it, skipped"
    done_now
fi
for tool in valgrind redis-cli redis-benchmark; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        not_ok "$tool installed (the set-up, deploy/install-deps.sh, installs it)"
        done_now
    fi
done

# start_server NAME: offheapd under memcheck, its report in $TMP/NAME.vg.
start_server() {
    local name=$1 i
    PORT=$(free_port)
    valgrind --quiet --soname-synonyms=somalloc=NONE --leak-check=full \
        --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        --log-file="$TMP/$name.vg" \
        "$OFFHEAPD" --port "$PORT" --bind 127.0.0.1 --dir "$TMP" \
        --unixsocket "$TMP/offheapd.sock" \
        --save "" >>"$TMP/$name.log" 2>&1 &
    PID=$!
    for i in $(seq "$READY_WAIT"); do
        kill -0 "$PID" 2>/dev/null || break
        if [ "$(redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ]; then
            return 0
        fi
        sleep 0.1
    done
    not_ok "$name: offheapd starts under valgrind" "$(cat "$TMP/$name.log")"
    done_now
}

# stop_server NAME: SHUTDOWN (saving), then memcheck's verdict.
stop_server() {
    local name=$1 rc
    redis-cli -p "$PORT" shutdown save >/dev/null 2>&1
    wait "$PID"
    rc=$?
    PID=
    if [ "$rc" -eq 0 ] && ! grep -q '==[0-9]*==' "$TMP/$name.vg"; then
        ok "$name: memcheck reports no error and no leak (exit 0)"
    else
        not_ok "$name: memcheck reports no error and no leak (exit $rc)" \
            "$(head -n 60 "$TMP/$name.vg")"
    fi
}

cli() {
    redis-cli -p "$PORT" "$@" 2>&1
}

# raw BYTES: sends BYTES on a new connection, prints what comes back.
raw() {
    exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return
    printf '%b' "$1" >&3
    timeout 5 cat <&3
    exec 3<&-
}

bench() {
    redis-benchmark -p "$PORT" -q "$@" >/dev/null 2>&1
}

# ---- first life: every path, then a saving shutdown ----
start_server first
bench -n 20000 -r 5000 -P 8 -t set,get,incr,mset -d 40
bench -n 2000 -r 500 -t set -d 300000 # large values, own allocations
expect "set with a TTL" "OK" "$(cli set ttlkey v PX 300)"
cli set keep "kept value" >/dev/null
for i in $(seq 200); do echo "SET k$i $(printf 'v%.0s' $(seq 40)) EX 3600"; done | cli >/dev/null
for i in $(seq 1 2 200); do echo "DEL k$i"; done | cli >/dev/null
cli scan 0 count 1000 >/dev/null
cli append keep " and more" >/dev/null
cli setrange keep 2 XY >/dev/null
expect "an unknown command is an error" \
    "ERR unknown command 'nosuchcmd', with args beginning with: " \
    "$(cli nosuchcmd)"
expect_proto=$(raw '*1\r\n$abc\r\n' | tr -d '\r')
case $expect_proto in
-ERR*) ok "a protocol violation gets an error" ;;
*) not_ok "a protocol violation gets an error" "$expect_proto" ;;
esac
raw '*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$100\r\nshort' >/dev/null # cut short
expect "APPEND and SETRANGE" "keXY value and more" "$(cli get keep)"
sleep 1
expect "expired key is gone" "" "$(cli get ttlkey)"
# A small limit: eviction and compaction run under memcheck.
cli config set maxmemory 4mb >/dev/null
bench -n 20000 -r 100000 -t set -d 200
expect "the limit holds" "1" \
    "$(cli info memory | tr -d '\r' | awk -F: '/^used_memory:/ {print ($2 <= 4194304)}')"
cli config set maxmemory 0 >/dev/null
cli set later "after eviction" >/dev/null
sleep 2 # background steps: expiry, compaction, index resize
# memory shared with local readers (the Unix socket turns it on): hand
# the mapping out (redis-cli takes only the reply) and save in the background
expect "LOCALREAD MAP answers on the Unix socket" "1" \
    "$(redis-cli -s "$TMP/offheapd.sock" localread map 2>&1 | head -n 1)"
expect "BGSAVE with shared memory" "Background saving started" "$(cli bgsave)"
sleep 1
stop_server first

# ---- second life: load the snapshot, serve, stop ----
start_server second
expect "the snapshot is loaded" "after eviction" "$(cli get later)"
bench -n 5000 -r 1000 -t get,set -d 40
cli flushall >/dev/null
stop_server second
done_now
