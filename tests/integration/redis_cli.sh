#!/usr/bin/env bash
# redis_cli.sh: redis-cli and redis-benchmark, unmodified, against offheapd.
#
# Spawns $OFFHEAPD (default build/offheapd) on a free loopback port, or uses
# OH_TEST_SERVER=host:port when set (that server's keys are flushed). Prints
# one line per check and, last, "N passed, N failed".
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OFFHEAPD=${OFFHEAPD:-$ROOT/build/offheapd}
READY_WAIT=50   # x 0.1 s to wait for PING after start
PID=
TMP=$(mktemp -d /tmp/oh-cli-XXXXXX)
# shellcheck source=../support/checks.sh
. "$ROOT/tests/support/checks.sh"

finish() {
    local i
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null
        for i in $(seq 50); do
            kill -0 "$PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap finish EXIT

start_server() {
    local try i port
    for try in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 40000))
        port_busy "$port" && continue
        "$OFFHEAPD" --port "$port" --bind 127.0.0.1 --dir "$TMP" \
            >>"$TMP/offheapd.log" 2>&1 &
        PID=$!
        for i in $(seq "$READY_WAIT"); do
            if ! kill -0 "$PID" 2>/dev/null; then
                break # exited: maybe the port was taken in between
            fi
            if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
                HOST=127.0.0.1
                PORT=$port
                return 0
            fi
            sleep 0.1
        done
        kill -KILL "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
        PID=
    done
    echo "redis_cli.sh: $OFFHEAPD did not start; its log:" >&2
    cat "$TMP/offheapd.log" >&2
    return 1
}

for tool in redis-cli redis-benchmark; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "redis_cli.sh: $tool is not installed (Debian package redis-tools)" >&2
        not_ok "$tool installed"
        checks_summary
        exit 1
    fi
done

if [ -n "${OH_TEST_SERVER:-}" ]; then
    HOST=${OH_TEST_SERVER%:*}
    PORT=${OH_TEST_SERVER##*:}
elif ! start_server; then
    not_ok "server starts and answers PING"
    checks_summary
    exit 1
fi
echo "# server at $HOST:$PORT"

cli() {
    redis-cli -h "$HOST" -p "$PORT" "$@" 2>&1
}

# ---- plain commands ----
expect "FLUSHALL" "OK" "$(cli flushall)"
expect "set a b" "OK" "$(cli set a b)"
expect "get a" "b" "$(cli get a)"
expect "get missing (raw: empty line)" "" "$(cli get missing)"
expect "set with spaces" "OK" "$(cli set 'k 1' 'v w x')"
expect "get with spaces" "v w x" "$(cli get 'k 1')"
expect "incr" "1" "$(cli incr n)"
expect "ttl of a persistent key" "-1" "$(cli ttl a)"
expect "del" "2" "$(cli del a 'k 1')"
expect "-r 3 incr" "$(printf '2\n3\n4')" "$(cli -r 3 incr n)"
expect "commands from stdin" "$(printf 'OK\n2\n2')" \
    "$(printf 'set x 1\nincr x\nget x\n' | cli)"
expect "-x takes the last argument from stdin" "OK" \
    "$(printf 'hello\nworld' | cli -x set xk)"
expect "value from stdin stored" "$(printf 'hello\nworld')" "$(cli get xk)"
expect_match "info server" '^# Server' "$(cli info server)"

# ---- --no-raw (the formatting a terminal gets) ----
cli set q world >/dev/null
expect "--no-raw get" '"world"' "$(cli --no-raw get q)"
expect "--no-raw nil" "(nil)" "$(cli --no-raw get missing)"
expect "--no-raw integer" "(integer) 5" "$(cli --no-raw strlen q)"
expect "--no-raw array" "$(printf '1) "world"\n2) (nil)')" \
    "$(cli --no-raw mget q missing)"
expect "--no-raw status" "OK" "$(cli --no-raw set q v)"
expect "--no-raw error" \
    "(error) ERR unknown command 'foo', with args beginning with: 'x' " \
    "$(cli --no-raw foo x)"
expect "--no-raw arity error" \
    "(error) ERR wrong number of arguments for 'get' command" \
    "$(cli --no-raw get)"
expect "-3 (RESP3) nil" "(nil)" "$(cli -3 --no-raw get missing)"
expect "-3 (RESP3) map" '1# "timeout" => "0"' \
    "$(cli -3 --no-raw config get timeout)"

# ---- command docs (interactive hints come from COMMAND DOCS) ----
docs=$(cli command docs get)
expect_match "COMMAND DOCS get names the command" '^get$' "$docs"
expect_match "COMMAND DOCS get has a summary" '^summary$' "$docs"
expect_match "COMMAND DOCS get has a group" '^string$' "$docs"

# ---- --pipe with 10 000 SETs ----
cli flushall >/dev/null
awk 'BEGIN {
    for (i = 0; i < 10000; i++) {
        k = "key:" i; v = "value-" i
        printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
    }
}' >"$TMP/pipe.txt"
pipe_out=$(cli --pipe <"$TMP/pipe.txt")
expect_match "--pipe: 10000 replies, no errors" 'errors: 0, replies: 10000' "$pipe_out"
expect "dbsize after --pipe" "10000" "$(cli dbsize)"
expect "a piped value" "value-1234" "$(cli get key:1234)"
expect "--scan --pattern" "1111" "$(cli --scan --pattern 'key:1*' | wc -l | tr -d ' ')"
expect "--scan all" "10000" "$(cli --scan | sort -u | wc -l | tr -d ' ')"
expect_match "--bigkeys" '10000 strings with' "$(cli --bigkeys)"

# ---- redis-benchmark ----
bench() {
    local pipeline=$1 out t
    out=$(redis-benchmark -h "$HOST" -p "$PORT" -q -n 20000 \
        -t ping,set,get,incr,mset -P "$pipeline" 2>&1 | tr '\r' '\n')
    for t in PING_INLINE PING_MBULK SET GET INCR 'MSET \(10 keys\)'; do
        expect_match "redis-benchmark -P $pipeline: $t" \
            "^ *$t: [0-9.]+ requests per second" "$out"
    done
    if printf '%s\n' "$out" | grep -Eiq 'ERR|error'; then
        not_ok "redis-benchmark -P $pipeline: no errors" \
            "$(printf '%s\n' "$out" | grep -Ei 'ERR|error' | head -n 5)"
    else
        ok "redis-benchmark -P $pipeline: no errors"
    fi
}
bench 16
bench 1

# the server survived all of it
expect "PING at the end" "PONG" "$(cli ping)"
if [ -n "$PID" ] && ! kill -0 "$PID" 2>/dev/null; then
    not_ok "server still running" "$(tail -n 20 "$TMP/offheapd.log")"
fi

checks_summary
