#!/usr/bin/env bash
# tests/run.sh: runs offheap's tests and adds up their results.
#
#   tests/run.sh unit BIN...                  cmocka unit test binaries
#   tests/run.sh integration BIN...           cmocka integration binaries, then
#                                             tests/integration/*.sh and the
#                                             Node client tests
#   tests/run.sh all UNITBIN... -- ITESTBIN...
# An ITESTBIN of the form make:TARGET runs that make target, whose output
# ends with its own "N passed, N failed" line (the client library's checks).
#
# Environment: OFFHEAPD (server binary, default build/offheapd), and
# OH_TEST_SERVER=host:port to run the integration tests against a running
# server (e.g. a real redis-server) instead of spawning offheapd.
#
# Counts come from each runner's own summary: cmocka's "[  PASSED  ] N
# test(s)." / "[  FAILED  ] N test(s)," / "[  SKIPPED ] N test(s)," lines,
# node --test's "# pass N" / "# fail N" / "# skipped N", and the shell
# tests' last line "N passed, N failed". A runner that exits non-zero
# without reporting a failure (a crash, a failed group setup, a timeout)
# counts as failed. The last line printed is "N passed, N failed"; the exit
# status is non-zero if anything failed.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN_TIMEOUT=${OH_TEST_TIMEOUT:-300}  # s one test binary or script may run
NODE_DIR="$ROOT/tests/integration/node"

PASSED=0
FAILED=0
SKIPPED=0
SUMMARY=()
LOG_DIR=$(mktemp -d /tmp/oh-run-XXXXXX)
trap 'rm -rf "$LOG_DIR"' EXIT

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# Absolute path of $1 (relative paths are taken from the caller's cwd).
abspath() {
    case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$PWD/$1" ;;
    esac
}

# Sums the numbers captured by the sed expression $2 over the lines of $1.
sum_matches() {
    sed -nE "$2" "$1" | awk '{ s += $1 } END { print s + 0 }'
}

# record NAME PASSED FAILED SKIPPED NOTE
record() {
    local status=PASS
    PASSED=$((PASSED + $2))
    FAILED=$((FAILED + $3))
    SKIPPED=$((SKIPPED + $4))
    [ "$3" -gt 0 ] && status=FAIL
    SUMMARY+=("$(printf '  %-4s %-44s %5d passed %4d failed %4d skipped%s' \
        "$status" "$1" "$2" "$3" "$4" "${5:+  ($5)}")")
}

# How a runner's exit status reads, for the summary.
describe_rc() {
    if [ "$1" -eq 124 ]; then
        echo "timed out after ${BIN_TIMEOUT}s"
    elif [ "$1" -gt 128 ]; then
        echo "killed by signal $(($1 - 128))"
    else
        echo "exit status $1"
    fi
}

run_cmocka() {
    local bin=$1 name log rc p f s n note=""
    name=${bin#"$ROOT"/}
    log="$LOG_DIR/$(basename "$bin").log"
    echo "==> $name"
    if [ ! -x "$bin" ]; then
        echo "run.sh: $bin: no such test binary" >&2
        record "$name" 0 1 0 "missing"
        return
    fi
    timeout -k 10 "$BIN_TIMEOUT" "$bin" >"$log" 2>&1
    rc=$?
    cat "$log"
    p=$(sum_matches "$log" 's/^\[  PASSED  \] ([0-9]+) test\(s\)\..*/\1/p')
    f=$(sum_matches "$log" 's/^\[  FAILED  \] ([0-9]+) test\(s\),.*/\1/p')
    s=$(sum_matches "$log" 's/^\[  SKIPPED \] ([0-9]+) test\(s\),.*/\1/p')
    n=$(sum_matches "$log" 's/^\[==========\] .*Running ([0-9]+) test\(s\)\..*/\1/p')
    # cmocka 1.1 exits 0 after a failed group teardown (here: the server
    # crashed or exited badly); a failed group setup runs no test
    if grep -q '^\[  FAILED  \] GROUP SETUP' "$log"; then
        f=$((f + n - p - s))
        [ "$f" -lt 1 ] && f=1
        note="group setup failed"
    fi
    if grep -q '^\[  FAILED  \] GROUP TEARDOWN' "$log"; then
        f=$((f + 1))
        note="group teardown failed"
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        # crashed or timed out: the tests that did not report count as
        # failed (at least one)
        f=$((n - p - s))
        [ "$f" -lt 1 ] && f=1
        note=$(describe_rc "$rc")
    elif [ "$rc" -eq 0 ] && [ $((p + f + s)) -eq 0 ]; then
        f=1
        note="no cmocka summary"
    fi
    record "$name" "$p" "$f" "$s" "$note"
}

# Runs a shell test script, or "make:TARGET" (a make target whose recipe
# prints its own "N passed, N failed" last), and reads its last line.
run_shell_test() {
    local script=$1 name log rc p f last note=""
    name=${script#"$ROOT"/}
    log="$LOG_DIR/$(basename "$script").log"
    echo "==> $name"
    if [ "${script#make:}" != "$script" ]; then
        (cd "$ROOT" && timeout -k 10 "$BIN_TIMEOUT" \
            make --no-print-directory "${script#make:}") >"$log" 2>&1
    else
        (cd "$ROOT" && timeout -k 10 "$BIN_TIMEOUT" bash "$script") >"$log" 2>&1
    fi
    rc=$?
    cat "$log"
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$last" ]; then
        p=0
        f=1
        note="no 'N passed, N failed' line; $(describe_rc "$rc")"
    else
        p=${last%% passed*}
        f=${last#*passed, }
        f=${f%% failed*}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            f=1
            note=$(describe_rc "$rc")
        fi
    fi
    record "$name" "$p" "$f" 0 "$note"
}

run_node_tests() {
    local log rc p f s c note="" files
    echo "==> tests/integration/node (node --test)"
    if ! command -v node >/dev/null 2>&1; then
        echo "run.sh: node is not installed: the set-up (deploy/install-deps.sh) must install nodejs" >&2
        record "tests/integration/node" 0 1 0 "node missing"
        return
    fi
    if [ ! -d "$NODE_DIR/node_modules" ]; then
        if ! command -v npm >/dev/null 2>&1; then
            echo "run.sh: npm is not installed: the set-up must install npm" >&2
            record "tests/integration/node" 0 1 0 "npm missing"
            return
        fi
        echo "run.sh: installing the Node test modules (npm ci)"
        if ! (cd "$NODE_DIR" && npm ci --no-audit --no-fund); then
            echo "run.sh: npm ci failed in $NODE_DIR" >&2
            record "tests/integration/node" 0 1 0 "npm ci failed"
            return
        fi
    fi
    log="$LOG_DIR/node.log"
    files=$(cd "$NODE_DIR" && ls ./*.test.js)
    # shellcheck disable=SC2086
    (cd "$NODE_DIR" && timeout -k 10 "$BIN_TIMEOUT" \
        node --test --test-reporter=tap $files) >"$log" 2>&1
    rc=$?
    cat "$log"
    p=$(sum_matches "$log" 's/^# pass ([0-9]+)$/\1/p')
    f=$(sum_matches "$log" 's/^# fail ([0-9]+)$/\1/p')
    s=$(sum_matches "$log" 's/^# skipped ([0-9]+)$/\1/p')
    c=$(sum_matches "$log" 's/^# cancelled ([0-9]+)$/\1/p')
    f=$((f + c))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        note=$(describe_rc "$rc")
    elif [ $((p + f + s)) -eq 0 ]; then
        f=1
        note="no node --test summary"
    fi
    record "tests/integration/node" "$p" "$f" "$s" "$note"
}

check_server() {
    if [ -n "${OH_TEST_SERVER:-}" ]; then
        echo "run.sh: integration tests use the running server at $OH_TEST_SERVER"
        return 0
    fi
    if [ ! -x "$OFFHEAPD" ]; then
        echo "run.sh: server binary $OFFHEAPD not found (make builds it)" >&2
        return 1
    fi
}

run_integration() {
    local t
    if ! check_server; then
        record "integration (server binary)" 0 1 0 "$OFFHEAPD missing"
        return
    fi
    local makes=()
    for t in "$@"; do
        if [ "${t#make:}" != "$t" ]; then
            makes+=("$t")
        else
            run_cmocka "$(abspath "$t")"
        fi
    done
    for t in ${makes[@]+"${makes[@]}"}; do
        run_shell_test "$t"
    done
    for t in "$ROOT"/tests/integration/*.sh; do
        [ -e "$t" ] && run_shell_test "$t"
    done
    run_node_tests
}

OFFHEAPD=$(abspath "${OFFHEAPD:-$ROOT/build/offheapd}")
export OFFHEAPD

[ $# -ge 1 ] || usage
mode=$1
shift
case "$mode" in
unit)
    for t in "$@"; do
        run_cmocka "$(abspath "$t")"
    done
    ;;
integration)
    run_integration "$@"
    ;;
all)
    units=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        units+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    for t in ${units[@]+"${units[@]}"}; do
        run_cmocka "$(abspath "$t")"
    done
    run_integration "$@"
    ;;
*)
    usage
    ;;
esac

echo
echo "==> summary"
for line in ${SUMMARY[@]+"${SUMMARY[@]}"}; do
    echo "$line"
done
[ "$SKIPPED" -gt 0 ] && echo "($SKIPPED skipped)"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
