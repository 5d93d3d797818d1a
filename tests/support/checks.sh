# checks.sh: what the shell tests share, sourced by tests/integration/*.sh.
# Each check prints "ok   - NAME" or "FAIL - NAME" (with details indented
# under it); checks_summary prints "N passed, N failed" last, which is the
# line tests/run.sh reads, and returns non-zero if a check failed.
PASS=0
FAIL=0
SKIP=0

ok() {
    PASS=$((PASS + 1))
    echo "ok   - $1"
}

# not_ok NAME [DETAILS]
not_ok() {
    FAIL=$((FAIL + 1))
    echo "FAIL - $1"
    [ $# -ge 2 ] && printf '%s\n' "$2" | sed 's/^/       | /'
    return 0
}

skip() {
    SKIP=$((SKIP + 1))
    echo "skip - $1"
}

# expect NAME WANT GOT
expect() {
    if [ "$2" = "$3" ]; then
        ok "$1"
    else
        not_ok "$1" "expected: $(printf '%q' "$2")
got:      $(printf '%q' "$3")"
    fi
}

# expect_match NAME REGEX TEXT
expect_match() {
    if printf '%s\n' "$3" | grep -Eq -- "$2"; then
        ok "$1"
    else
        not_ok "$1" "no line matching /$2/ in:
$(printf '%s\n' "$3" | head -n 20)"
    fi
}

# Tells whether something listens on 127.0.0.1:$1.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a loopback port nothing listens on (a server started on it may
# still lose a race: callers retry).
free_port() {
    local p=$((20000 + RANDOM % 40000))
    while port_busy "$p"; do p=$((20000 + RANDOM % 40000)); done
    echo "$p"
}

checks_summary() {
    echo "$PASS passed, $FAIL failed"
    [ "$FAIL" -eq 0 ]
}
