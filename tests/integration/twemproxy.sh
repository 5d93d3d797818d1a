#!/usr/bin/env bash
# twemproxy.sh: three offheapd behind Debian's nutcracker (twemproxy), with
# deploy/twemproxy/nutcracker.yml's settings, on loopback.
#
#   1. 10 000 SETs through the proxy; then liboffheap, talking to the three
#      shards directly (tests/integration/twemproxy_check.c, compiled here
#      against $(dirname $OFFHEAPD)/liboffheap.a), finds every key where
#      its own ketama places it, and nowhere else;
#   2. a {hash tag} keeps two keys on one shard;
#   3. one shard SAVEs and is killed (-9): nutcracker ejects it after
#      server_failure_limit failures, the other shards' keys are all still
#      served, and the dead shard's keys read as misses, not errors;
#   4. the shard restarts on its port with its snapshot (warm restart) and
#      has its keys again; after server_retry_timeout the proxy routes to it
#      again and all 10 000 keys agree once more.
# Prints one line per check and, last, "N passed, N failed". Takes a few
# seconds; every wait is bounded.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OFFHEAPD=${OFFHEAPD:-$ROOT/build/offheapd}
LIBOFFHEAP=$(dirname "$OFFHEAPD")/liboffheap.a
TEMPLATE=$ROOT/deploy/twemproxy/nutcracker.yml
NKEYS=10000
VICTIM=1       # the shard that is killed
READY_WAIT=50  # x 0.1 s to wait for a server or the proxy
TMP=$(mktemp -d /tmp/oh-twem-XXXXXX)
PIDS=(- - -)   # offheapd of shard 0, 1, 2
NC_PID=
# shellcheck source=../support/checks.sh
. "$ROOT/tests/support/checks.sh"

stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] && [ "$pid" != - ] || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
finish() {
    stop_pid "$NC_PID"
    stop_pid "${PIDS[0]}"
    stop_pid "${PIDS[1]}"
    stop_pid "${PIDS[2]}"
    rm -rf "$TMP"
}
trap finish EXIT

give_up() {
    not_ok "$1" "${2:-}"
    checks_summary
    exit 1
}

for tool in nutcracker redis-cli cc; do
    command -v "$tool" >/dev/null 2>&1 ||
        give_up "$tool installed (deploy/install-deps.sh installs nutcracker, redis-tools, gcc)"
done
[ -f "$LIBOFFHEAP" ] ||
    give_up "liboffheap.a next to the server" \
        "$LIBOFFHEAP not found: make test builds it (client-check); or make $LIBOFFHEAP"
# a sanitizer build's liboffheap.a (make asan) needs the sanitizers' runtime
SAN=
if ldd "$OFFHEAPD" 2>/dev/null | grep -q libasan; then
    SAN="-fsanitize=address,undefined"
fi
# shellcheck disable=SC2046,SC2086
if ! cc -std=c11 -O1 $SAN -I"$ROOT/client" -o "$TMP/twemproxy_check" \
    "$ROOT/tests/integration/twemproxy_check.c" "$LIBOFFHEAP" \
    $(pkg-config --libs hiredis libevent) -lm 2>"$TMP/cc.log"; then
    give_up "twemproxy_check.c compiles against liboffheap.a" "$(cat "$TMP/cc.log")"
fi
ok "twemproxy_check.c compiles against liboffheap.a"

# start_shard I: offheapd for shard I on PORTS[I], snapshots in its own dir
start_shard() {
    local i=$1 port=${PORTS[$1]}
    mkdir -p "$TMP/shard$i"
    "$OFFHEAPD" --port "$port" --bind 127.0.0.1 --dir "$TMP/shard$i" \
        --loglevel notice >>"$TMP/shard$i.log" 2>&1 &
    PIDS[i]=$!
    for _ in $(seq "$READY_WAIT"); do
        kill -0 "${PIDS[i]}" 2>/dev/null || break
        # PONG once it listens; -LOADING would mean the snapshot is not in yet
        [ "$(redis-cli -p "$port" dbsize 2>/dev/null)" != "" ] &&
            [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    return 1
}

PORTS=()
for _ in 1 2 3 4 5; do
    PORTS=("$(free_port)" "$(free_port)" "$(free_port)")
    PROXY_PORT=$(free_port)
    STATS_PORT=$(free_port)
    all=$(printf '%s\n' "${PORTS[@]}" "$PROXY_PORT" "$STATS_PORT" | sort -u | wc -l)
    [ "$all" -eq 5 ] && break
done
started=1
for i in 0 1 2; do
    start_shard "$i" || started=0
done
[ "$started" = 1 ] || give_up "three offheapd start" "$(tail -n 20 "$TMP"/shard*.log)"
ok "three offheapd on 127.0.0.1:${PORTS[0]},${PORTS[1]},${PORTS[2]}"

# The committed configuration with this run's ports (the shard names, which
# ketama hashes, stay).
sed -e "s|^\( *listen:\).*|\1 127.0.0.1:$PROXY_PORT|" \
    -e "s|127\.0\.0\.1:6388:|127.0.0.1:${PORTS[0]}:|" \
    -e "s|127\.0\.0\.1:6389:|127.0.0.1:${PORTS[1]}:|" \
    -e "s|127\.0\.0\.1:6390:|127.0.0.1:${PORTS[2]}:|" \
    "$TEMPLATE" >"$TMP/nutcracker.yml"
expect_match "nutcracker.yml: the shard ports were put in" \
    "127.0.0.1:${PORTS[2]}:1 shard2" "$(cat "$TMP/nutcracker.yml")"
FAILURE_LIMIT=$(sed -n 's/^ *server_failure_limit: *//p' "$TMP/nutcracker.yml")
RETRY_MS=$(sed -n 's/^ *server_retry_timeout: *//p' "$TMP/nutcracker.yml")
nutcracker -c "$TMP/nutcracker.yml" -s "$STATS_PORT" -a 127.0.0.1 -i 100 \
    -p "$TMP/nutcracker.pid" -o "$TMP/nutcracker.log" &
NC_PID=$!
for _ in $(seq "$READY_WAIT"); do
    [ "$(redis-cli -p "$PROXY_PORT" ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
done
[ "$(redis-cli -p "$PROXY_PORT" ping 2>/dev/null)" = PONG ] ||
    give_up "nutcracker answers PING" "$(tail -n 20 "$TMP/nutcracker.log")"
ok "nutcracker on 127.0.0.1:$PROXY_PORT"

SPEC="127.0.0.1:${PORTS[0]}:1 shard0,127.0.0.1:${PORTS[1]}:1 shard1,127.0.0.1:${PORTS[2]}:1 shard2"
proxy() {
    redis-cli -p "$PROXY_PORT" "$@" 2>&1
}
shard() {
    local i=$1
    shift
    redis-cli -p "${PORTS[$i]}" "$@" 2>&1
}
# Prints nutcracker's stats JSON (one connection, it writes and closes).
stats() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$STATS_PORT && cat <&3" 2>/dev/null
}
# The number after "NAME": in the stats of the pool (or of server SERVER).
stat() {
    local name=$1 server=${2:-}
    if [ -n "$server" ]; then
        stats | grep -o "\"$server\": *{[^}]*}" | grep -o "\"$name\": *[0-9]*" | grep -o '[0-9]*$'
    else
        stats | grep -o "\"$name\": *[0-9]*" | head -n 1 | grep -o '[0-9]*$'
    fi
}

# ---- 1. write through the proxy, read through liboffheap ----
t0=$(date +%s%N)
awk -v n="$NKEYS" 'BEGIN { for (i = 0; i < n; i++) printf "set key:%d val:%d\n", i, i }' |
    redis-cli -p "$PROXY_PORT" >"$TMP/set.out" 2>&1
t1=$(date +%s%N)
expect "$NKEYS SETs through nutcracker answer OK" "$NKEYS" "$(grep -c '^OK$' "$TMP/set.out")"
echo "# $NKEYS SETs through the proxy in $(((t1 - t0) / 1000000)) ms"
sum=0
for i in 0 1 2; do
    n=$(shard "$i" dbsize)
    echo "# shard$i: $n keys"
    sum=$((sum + n))
done
expect "the shards hold $NKEYS keys between them" "$NKEYS" "$sum"

"$TMP/twemproxy_check" check "$SPEC" "$NKEYS" >"$TMP/check1.out" 2>&1
rc=$?
sed 's/^/# /' "$TMP/check1.out"
if [ "$rc" -eq 0 ]; then
    ok "liboffheap's ketama places all $NKEYS keys where nutcracker put them"
else
    not_ok "liboffheap's ketama places all $NKEYS keys where nutcracker put them" \
        "$(cat "$TMP/check1.out")"
fi
for i in 0 1 2; do
    expect "shard$i: DBSIZE is the count liboffheap places there" \
        "$(sed -n "s/^shard $i shard$i //p" "$TMP/check1.out")" "$(shard "$i" dbsize)"
done
expect "GET key:4242 through the proxy" "val:4242" "$(proxy get key:4242)"

# ---- 2. a hash tag keeps keys together ----
proxy mset 'user:{42}:name' ada 'user:{42}:cart' 3 >/dev/null
where=
for i in 0 1 2; do
    [ "$(shard "$i" exists 'user:{42}:name' 'user:{42}:cart')" = 2 ] && where="$where$i"
done
expect_match "user:{42}:name and user:{42}:cart on one shard" '^[012]$' "$where"
proxy del 'user:{42}:name' 'user:{42}:cart' >/dev/null

# ---- 3. kill one shard ----
"$TMP/twemproxy_check" place "$SPEC" "$NKEYS" >"$TMP/place.out"
awk -v v="$VICTIM" '$2 == v { print "key:" $1 }' "$TMP/place.out" >"$TMP/victim.keys"
awk -v v="$VICTIM" '$2 != v { print "key:" $1 }' "$TMP/place.out" >"$TMP/others.keys"
NVICTIM=$(wc -l <"$TMP/victim.keys")
NOTHERS=$(wc -l <"$TMP/others.keys")
expect "shard$VICTIM SAVE" "OK" "$(shard "$VICTIM" save)"
kill -KILL "${PIDS[VICTIM]}"
wait "${PIDS[VICTIM]}" 2>/dev/null
PIDS[VICTIM]=-
t_kill=$(date +%s%N)

# Asks for the dead shard's keys until the proxy answers without an error
# (ejected: the key hashes onto a live shard, where it is a miss).
errors=0
ejected=0
while read -r k; do
    r=$(proxy get "$k")
    case "$r" in
    *ERR* | *rror* | *closed*) errors=$((errors + 1)) ;;
    "") ejected=1 && break ;;
    *) break ;;
    esac
    [ $(($(date +%s%N) - t_kill)) -gt 5000000000 ] && break
done <"$TMP/victim.keys"
t_eject=$(date +%s%N)
expect "the dead shard's keys read as misses once it is ejected" 1 "$ejected"
echo "# $errors failed requests, then ejected after $(((t_eject - t_kill) / 1000000)) ms" \
    "(server_failure_limit $FAILURE_LIMIT)"
if [ "$errors" -le "$FAILURE_LIMIT" ]; then
    ok "no more than server_failure_limit ($FAILURE_LIMIT) requests failed"
else
    not_ok "no more than server_failure_limit ($FAILURE_LIMIT) requests failed" "$errors failed"
fi
sleep 0.3 # stats are aggregated every 100 ms
expect_match "nutcracker counts the ejection (server_ejects)" '^[1-9]' "$(stat server_ejects)"
expect_match "shard$VICTIM has a server_ejected_at" '^[1-9]' \
    "$(stat server_ejected_at "shard$VICTIM")"

# The live shards serve every one of their keys (GET ... through the
# proxy, within the ejection's server_retry_timeout ms).
t0=$(date +%s%N)
awk '{ print "get " $1 }' "$TMP/others.keys" | redis-cli -p "$PROXY_PORT" >"$TMP/others.out" 2>&1
t1=$(date +%s%N)
served=$(paste -d ' ' "$TMP/others.keys" "$TMP/others.out" |
    awk '{ sub(/^key:/, "", $1); if ($2 == "val:" $1) n++ } END { print n + 0 }')
expect "the live shards' $NOTHERS keys are all served through the proxy" "$NOTHERS" "$served"
echo "# $NOTHERS GETs of the live shards in $(((t1 - t0) / 1000000)) ms;" \
    "shard$VICTIM had $NVICTIM keys"
expect "a write through the proxy works meanwhile" "OK" "$(proxy set during:eject 1)"
proxy del during:eject >/dev/null

# ---- 4. warm restart ----
start_shard "$VICTIM" ||
    give_up "shard$VICTIM restarts on port ${PORTS[VICTIM]}" "$(tail -n 20 "$TMP/shard$VICTIM.log")"
ok "shard$VICTIM restarts on port ${PORTS[VICTIM]}"
expect "shard$VICTIM has its $NVICTIM keys back from its snapshot" "$NVICTIM" \
    "$(shard "$VICTIM" dbsize)"
probe=$(head -n 1 "$TMP/victim.keys")
back=0
deadline=$(($(date +%s%N) + (RETRY_MS + 5000) * 1000000))
while [ "$(date +%s%N)" -lt "$deadline" ]; do
    if [ "$(proxy get "$probe")" = "val:${probe#key:}" ]; then
        back=1
        break
    fi
    sleep 0.1
done
t_back=$(date +%s%N)
expect "the proxy routes to shard$VICTIM again (server_retry_timeout ${RETRY_MS} ms)" 1 "$back"
echo "# shard$VICTIM served through the proxy again $(((t_back - t_kill) / 1000000)) ms after the kill"
"$TMP/twemproxy_check" check "$SPEC" "$NKEYS" >"$TMP/check2.out" 2>&1
rc=$?
sed 's/^/# /' "$TMP/check2.out"
if [ "$rc" -eq 0 ]; then
    ok "after the restart all $NKEYS keys are where liboffheap places them"
else
    not_ok "after the restart all $NKEYS keys are where liboffheap places them" \
        "$(cat "$TMP/check2.out")"
fi
awk '{ print "get " $1 }' "$TMP/victim.keys" | redis-cli -p "$PROXY_PORT" >"$TMP/victim.out" 2>&1
served=$(paste -d ' ' "$TMP/victim.keys" "$TMP/victim.out" |
    awk '{ sub(/^key:/, "", $1); if ($2 == "val:" $1) n++ } END { print n + 0 }')
expect "shard$VICTIM's $NVICTIM keys are served through the proxy again" "$NVICTIM" "$served"

for i in 0 1 2; do
    if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
        not_ok "shard$i still running" "$(tail -n 20 "$TMP/shard$i.log")"
    fi
done
kill -0 "$NC_PID" 2>/dev/null || not_ok "nutcracker still running" "$(tail -n 20 "$TMP/nutcracker.log")"

checks_summary
