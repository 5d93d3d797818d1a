#!/usr/bin/env bash
# tests/integration/service.sh: offheapd under a fake systemd. A small C
# helper (notify_listen.c, built here) listens on the NOTIFY_SOCKET the
# server is given and records what it sends. Checks: READY=1 once the
# server answers PING, MAINPID, STATUS=, WATCHDOG=1 when WATCHDOG_USEC is
# set, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM, a clean
# exit that saves the snapshot, keys back after a restart, exit 65 under
# snapshot-on-corrupt refuse, and `systemd-analyze verify` on the unit.
# Needs bash (for /dev/tcp) and a C compiler; OFFHEAPD names the server.
# The last line is "N passed, N failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${OFFHEAPD:-$ROOT/build/offheapd}
case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
TMP=$(mktemp -d /tmp/oh-service-XXXXXX)
PASS=0
FAIL=0
SERVER_PID=""
LISTEN_PID=""

cleanup() {
    [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null
    [ -n "$LISTEN_PID" ] && kill "$LISTEN_PID" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

check() { # check <description> <command...>
    local desc=$1
    shift
    if "$@"; then
        PASS=$((PASS + 1))
        echo "ok   $desc"
    else
        FAIL=$((FAIL + 1))
        echo "FAIL $desc"
    fi
}

# resp <port> <arg...>: sends one command, prints the reply's first line
# (for a bulk string, its value).
resp() {
    local port=$1 line a
    shift
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    {
        printf '*%d\r\n' $#
        for a in "$@"; do printf '$%d\r\n%s\r\n' "${#a}" "$a"; done
    } >&3
    IFS= read -r -t 3 line <&3 || { exec 3<&-; return 1; }
    line=${line%$'\r'}
    if [ "${line:0:1}" = '$' ] && [ "$line" != '$-1' ]; then
        IFS= read -r -t 3 line <&3
        line=${line%$'\r'}
    fi
    exec 3<&-
    printf '%s\n' "$line"
}

# wait_for <file> <regex> [tries of 0.05 s]
wait_for() {
    for _ in $(seq 1 "${3:-100}"); do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

count() { grep -cE "$2" "$1" 2>/dev/null; }

free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
    echo 23456
}

# start <log> [options...]: starts offheapd under the fake systemd. If the
# port was taken meanwhile (another program on this machine), it moves PORT
# to another free port and tries again.
start() {
    local log=$1 attempt
    shift
    for attempt in 1 2 3 4 5; do
        : >"$TMP/notify.out"
        NOTIFY_SOCKET="$TMP/notify" WATCHDOG_USEC=400000 \
            "$BIN" "$TMP/offheapd.conf" --port "$PORT" --dir "$TMP/data" "$@" \
            >"$log" 2>&1 &
        SERVER_PID=$!
        for _ in $(seq 1 40); do
            grep -q "Address already in use" "$log" 2>/dev/null && break
            grep -q "listening on" "$log" 2>/dev/null && return 0
            kill -0 "$SERVER_PID" 2>/dev/null || return 0
            sleep 0.05
        done
        grep -q "Address already in use" "$log" 2>/dev/null || return 0
        wait "$SERVER_PID" 2>/dev/null
        PORT=$(free_port)
    done
}

stop_server() { # stop_server: SIGTERM, then the exit status
    kill -TERM "$SERVER_PID"
    local rc=0
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=""
    return $rc
}

# ---- set-up ----
if ! "$BIN" --help-config 2>/dev/null | grep -q '^snapshot-file '; then
    echo "note: $BIN has no snapshot-file option: main.c, options.h and"
    echo "      cmd_table.h lack the issue-5 wiring (notify, snapshot), so"
    echo "      the checks below are expected to fail"
fi
CC=${CC:-cc}
if ! "$CC" -O1 -o "$TMP/notify_listen" "$ROOT/tests/integration/notify_listen.c"; then
    echo "FAIL cannot build tests/integration/notify_listen.c with $CC"
    echo "0 passed, 1 failed"
    exit 1
fi
mkdir -p "$TMP/data"
printf 'loglevel notice\n' >"$TMP/offheapd.conf"
PORT=$(free_port)
"$TMP/notify_listen" "$TMP/notify" "$TMP/notify.out" 120 &
LISTEN_PID=$!
wait_for_socket() { [ -S "$TMP/notify" ]; }
for _ in $(seq 1 100); do wait_for_socket && break; sleep 0.02; done
OUT="$TMP/notify.out"

# ---- start-up ----
start "$TMP/log1"
check "READY=1 is sent" wait_for "$OUT" '^READY=1$'
check "the server answers PING once READY=1 is sent" \
    [ "$(resp "$PORT" ping)" = "+PONG" ]
check "MAINPID is the server's pid" grep -qx "MAINPID=$SERVER_PID" "$OUT"
check "STATUS= reports the state" grep -q '^STATUS=Ready' "$OUT"
check "WATCHDOG=1 is sent when WATCHDOG_USEC is set" \
    wait_for "$OUT" '^WATCHDOG=1$' 40
n=$(count "$OUT" '^WATCHDOG=1$')
sleep 0.6
check "WATCHDOG=1 keeps coming (every WATCHDOG_USEC/2)" \
    [ "$(count "$OUT" '^WATCHDOG=1$')" -gt "$n" ]

# ---- reload ----
kill -HUP "$SERVER_PID"
check "SIGHUP sends RELOADING=1" wait_for "$OUT" '^RELOADING=1$'
check "RELOADING=1 carries MONOTONIC_USEC" grep -qE '^MONOTONIC_USEC=[0-9]+$' "$OUT"
check "then READY=1 again" wait_for "$OUT" 'READY=1' 20 &&
    [ "$(count "$OUT" '^READY=1$')" -ge 2 ]

# ---- stop: STOPPING=1 and the snapshot ----
resp "$PORT" set warm "across a restart" >/dev/null
resp "$PORT" set gone soon px 300 >/dev/null
resp "$PORT" set lasting v ex 1000 >/dev/null
stop_server
rc=$?
check "SIGTERM sends STOPPING=1" grep -qx 'STOPPING=1' "$OUT"
check "SIGTERM exits with status 0" [ "$rc" -eq 0 ]
check "the snapshot is written on shutdown" [ -s "$TMP/data/dump.offheap" ]
check "no temporary snapshot file is left" \
    sh -c '! ls "$0"/data/*.tmp-* >/dev/null 2>&1' "$TMP"

# ---- warm restart ----
sleep 0.4
start "$TMP/log2"
check "READY=1 after loading the snapshot" wait_for "$OUT" '^READY=1$'
check "keys are back after a restart" \
    [ "$(resp "$PORT" get warm)" = "across a restart" ]
check "keys that expired meanwhile are dropped" \
    [ "$(resp "$PORT" get gone)" = '$-1' ]
ttl=$(resp "$PORT" ttl lasting)
check "a key keeps its TTL across a restart" [ "${ttl#:}" -ge 990 ] && [ "${ttl#:}" -le 1000 ]
check "the log reports the keys loaded" grep -q "loaded 2 keys" "$TMP/log2"

# ---- a second SIGTERM during a long save: prompt exit, old snapshot kept ----
awk 'BEGIN { v = sprintf("%*s", 1000, ""); gsub(/ /, "x", v)
    for (i = 0; i < 400000; i++) { k = "bulk:" i
        printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1000\r\n%s\r\n", length(k), k, v } }' |
    redis-cli -p "$PORT" --pipe >/dev/null
before=$(cksum <"$TMP/data/dump.offheap")
kill -TERM "$SERVER_PID"
sleep 0.2
t0=$(date +%s%N)
kill -TERM "$SERVER_PID" 2>/dev/null
wait "$SERVER_PID"
took_ms=$((($(date +%s%N) - t0) / 1000000))
SERVER_PID=""
check "a second SIGTERM while saving exits within 2 s (took ${took_ms} ms)" [ "$took_ms" -lt 2000 ]
check "and leaves the previous snapshot as it was" \
    [ "$(cksum <"$TMP/data/dump.offheap")" = "$before" ]
check "and no temporary snapshot file" \
    sh -c '! ls "$0"/data/*.tmp-* >/dev/null 2>&1' "$TMP"
start "$TMP/log2b"
check "the server starts from that snapshot" wait_for "$OUT" '^READY=1$'
check "with its keys" [ "$(resp "$PORT" get warm)" = "across a restart" ]
stop_server

# ---- a bad snapshot under snapshot-on-corrupt refuse ----
printf 'OFFHEAP-SNAP garbage' >"$TMP/data/dump.offheap"
start "$TMP/log3" --snapshot-on-corrupt refuse
rc=0
wait "$SERVER_PID" || rc=$?
SERVER_PID=""
check "a bad snapshot under refuse exits 65 (EX_DATAERR)" [ "$rc" -eq 65 ]
check "and never sends READY=1" sh -c "! grep -q '^READY=1' '$OUT'"
check "and leaves the file in place" [ -f "$TMP/data/dump.offheap" ]
start "$TMP/log4"
check "under empty it starts (READY=1)" wait_for "$OUT" '^READY=1$'
check "and sets the bad file aside" \
    sh -c 'ls "$0"/data/dump.offheap.corrupt-* >/dev/null 2>&1' "$TMP"
stop_server

# ---- the unit file ----
if command -v systemd-analyze >/dev/null 2>&1; then
    mkdir -p "$TMP/unit"
    sed "s|/usr/local/bin/offheapd|$BIN|" "$ROOT/deploy/offheapd.service" \
        >"$TMP/unit/offheapd.service"
    out=$(systemd-analyze verify --man=no "$TMP/unit/offheapd.service" 2>&1)
    rc=$?
    [ -n "$out" ] && echo "$out"
    check "systemd-analyze verify passes on deploy/offheapd.service" \
        [ "$rc" -eq 0 ] && [ -z "$out" ]
else
    echo "skip systemd-analyze verify (systemd-analyze is not installed)"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
