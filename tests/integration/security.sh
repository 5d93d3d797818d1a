#!/usr/bin/env bash
# security.sh: rename-command, MONITOR, protected mode and the Unix socket's
# permissions, against a spawned offheapd. Protected mode needs a client
# that is not on loopback: the test makes its own network namespace joined
# to this one by a veth pair (root only; skipped, and said so, otherwise).
# Prints one line per check and, last, "N passed, N failed".
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OFFHEAPD=${OFFHEAPD:-$ROOT/build/offheapd}
PIDS=""
TMP=$(mktemp -d /tmp/oh-sec-XXXXXX)
# shellcheck source=../support/checks.sh
. "$ROOT/tests/support/checks.sh"
NS="ohsec$$"
VETH="ohs$$"
NET="10.213.$(($$ % 250)).0"  # the namespace's own /30 (ours only)
HOST_IP="${NET%.0}.1"
NS_IP="${NET%.0}.2"

finish() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
    wait 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    ip link del "$VETH" 2>/dev/null
    rm -rf "$TMP"
}
trap finish EXIT

# start [options...]: spawns offheapd on a free port (retrying another port
# if it was taken meanwhile), waits for it to answer; sets PORT.
start() {
    local attempt pid
    for attempt in 1 2 3 4 5; do
        PORT=$(free_port)
        "$OFFHEAPD" --port "$PORT" --dir "$TMP" --snapshot-file "" --loglevel warning "$@" \
            >>"$TMP/server.log" 2>&1 &
        pid=$!
        PIDS="$PIDS $pid"
        for _ in $(seq 50); do
            redis-cli -p "$PORT" ping 2>/dev/null | grep -q 'PONG\|NOAUTH\|ERR' && return 0
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    done
    echo "offheapd did not start:" && tail -5 "$TMP/server.log"
    return 1
}

give_up() {
    not_ok "offheapd starts"
    checks_summary
    exit 1
}

# ---- rename-command ----
start --rename-command flushall "" --rename-command config cfg-7x || give_up
P=$PORT
expect "a disabled command is unknown" \
    "ERR unknown command 'flushall', with args beginning with: " \
    "$(redis-cli -p "$P" flushall)"
expect "a renamed command answers under its new name" "$P" \
    "$(redis-cli -p "$P" cfg-7x get port | tail -1)"
expect "its old name is unknown" \
    "ERR unknown command 'config', with args beginning with: 'get' 'port' " \
    "$(redis-cli -p "$P" config get port)"
total=$(redis-cli -p "$P" command list | wc -l)
hidden=$(redis-cli -p "$P" command list | grep -cx 'flushall\|config')
expect "COMMAND LIST hides the disabled and old names" "0" "$hidden"
expect "COMMAND COUNT counts the enabled commands" "$total" "$(redis-cli -p "$P" command count)"
out=$("$OFFHEAPD" --check-config --rename-command nosuch x 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && echo "$out" | grep -q "rename-command"; then
    ok "renaming an unknown command stops start-up"
else
    not_ok "renaming an unknown command stops start-up" "rc=$rc: $out"
fi

# ---- MONITOR ----
timeout 2 redis-cli -p "$P" monitor >"$TMP/monitor.txt" 2>&1 &
sleep 0.3
redis-cli -p "$P" set "mon key" 'va"l' >/dev/null
redis-cli -p "$P" auth hunter2 >/dev/null 2>&1
redis-cli -p "$P" get "mon key" >/dev/null
sleep 0.3
if grep -Eq '^[0-9]+\.[0-9]{6} \[0 127\.0\.0\.1:[0-9]+\] "set" "mon key" "va\\"l"$' "$TMP/monitor.txt" &&
    grep -q '"get" "mon key"' "$TMP/monitor.txt"; then
    ok "MONITOR streams each command, quoted"
else
    not_ok "MONITOR streams each command, quoted" "$(head -3 "$TMP/monitor.txt")"
fi
if grep -q hunter2 "$TMP/monitor.txt"; then
    not_ok "MONITOR never shows AUTH's password"
else
    ok "MONITOR never shows AUTH's password"
fi

# ---- the Unix socket ----
S="$TMP/oh.sock"
start --unixsocket "$S" || give_up
P2=$PORT
expect "the Unix socket is created 0700 by default" "700" "$(stat -c %a "$S")"
expect "the Unix socket serves" "PONG" "$(redis-cli -s "$S" ping)"

# ---- protected mode: a client outside loopback ----
if ip netns add "$NS" 2>/dev/null &&
    ip link add "$VETH" type veth peer name "${VETH}n" 2>/dev/null &&
    ip link set "${VETH}n" netns "$NS" &&
    ip addr add "$HOST_IP/30" dev "$VETH" && ip link set "$VETH" up &&
    ip netns exec "$NS" ip addr add "$NS_IP/30" dev "${VETH}n" &&
    ip netns exec "$NS" ip link set "${VETH}n" up &&
    ip netns exec "$NS" ip link set lo up; then
    remote() { ip netns exec "$NS" redis-cli -h "$HOST_IP" "$@" 2>&1; }
    start --bind "127.0.0.1 $HOST_IP" || give_up
    P3=$PORT
    expect_denied=$(remote -p "$P3" ping)
    if echo "$expect_denied" | grep -q "DENIED"; then
        ok "protected mode refuses a non-loopback client without requirepass"
    else
        not_ok "protected mode refuses a non-loopback client without requirepass" "$expect_denied"
    fi
    expect "loopback clients are still served" "PONG" "$(redis-cli -p "$P3" ping)"
    start --bind "127.0.0.1 $HOST_IP" --requirepass s3cret || give_up
    P4=$PORT
    expect "with requirepass a remote client must AUTH" \
        "NOAUTH Authentication required." "$(remote -p "$P4" get x)"
    expect "and is served after AUTH" "PONG" "$(remote -p "$P4" --no-auth-warning -a s3cret ping)"
    start --bind "127.0.0.1 $HOST_IP" --protected-mode no || give_up
    P5=$PORT
    expect "protected-mode no serves remote clients" "PONG" "$(remote -p "$P5" ping)"
else
    skip "protected mode (needs root to create a network namespace)"
fi

[ "$SKIP" -gt 0 ] && echo "($SKIP skipped)"
checks_summary
