#!/bin/sh
# Checks that conf/offheapd.conf documents every option of the server's
# option table with its default, and nothing else.
set -u
bin=${OFFHEAPD:-build/offheapd}
conf=conf/offheapd.conf
pass=0
fail=0
check() { # check <description> <command...>
    if "$@"; then
        pass=$((pass + 1)); echo "ok   $desc"
    else
        fail=$((fail + 1)); echo "FAIL $desc"
    fi
}
table=$(mktemp)
file=$(mktemp)
trap 'rm -f "$table" "$file"' EXIT
"$bin" --help-config | grep -v '^#' | grep -v '^$' | sort > "$table"
grep -v '^#' "$conf" | grep -v '^$' | sort > "$file"
desc="conf/offheapd.conf lists every option with its default"
check diff -u "$table" "$file"
desc="conf/offheapd.conf loads without error"
check "$bin" --check-config "$conf"
bad=$(mktemp)
printf 'port 6388\nmaxmemory lots\n' > "$bad"
out=$("$bin" --check-config "$bad" 2>&1)
rc=$?
rm -f "$bad"
desc="a bad option stops start-up with file, line and reason"
check [ "$rc" != 0 ] && echo "$out" | grep -q ":2: option 'maxmemory' value 'lots'"
desc="an unknown option is refused"
check sh -c '! "$0" --check-config --no-such-option 1 2>/dev/null' "$bin"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
