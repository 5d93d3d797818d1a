#!/bin/bash
# M1: RSS per item after loading N items (12-byte key, 32-byte value,
# EX 3600) into offheapd, redis-server and memcached, one server at a time,
# each pinned to SERVER_CPU. Prints total RSS / N (fixed overhead
# included: the target's figure), (RSS - RSS at start) / N, and the
# server's own accounting per item.
#   tests/bench/m1_memory.sh      M1_KEYS=1000000 M1_KEY_LEN=12 M1_VAL_LEN=32
#                                 M1_TTL=3600 M1_SETTLE=2 (s after the load)
cd "$(dirname "$0")/../.." || exit 1
. tests/bench/lib.sh
OHLOAD=${OHLOAD:-build/ohload}
N=${M1_KEYS:-1000000}
KEY_LEN=${M1_KEY_LEN:-12}
VAL_LEN=${M1_VAL_LEN:-32}
TTL=${M1_TTL:-3600}
SETTLE=${M1_SETTLE:-2}
trap stop_all EXIT
[ -x "$OFFHEAPD" ] || make -s server >/dev/null || exit 1
[ -x "$OHLOAD" ] || make -s bench-tools >/dev/null || exit 1

declare -A RSS0 RSS1 USED ITEMS SECS
# measure <name> <proto> <port>: load, then record RSS and accounting.
measure() {
    local name=$1 proto=$2 port=$3 pid out
    pid=$(pid_of_port "$port")
    sleep 0.5
    RSS0[$name]=$(rss_bytes "$pid")
    out=$(taskset -c "$CLIENT_CPU" "$OHLOAD" load --port "$port" --proto "$proto" \
        --keys "$N" --key-len "$KEY_LEN" --val-min "$VAL_LEN" --val-max "$VAL_LEN" \
        --ttl "$TTL" --conns 4 --pipeline 128) || return 1
    SECS[$name]=$(sed -n 's/.* secs=\([0-9.]*\).*/\1/p' <<<"$out")
    sleep "$SETTLE"
    RSS1[$name]=$(rss_bytes "$pid")
    USED[$name]=$("$OHLOAD" stat --port "$port" --proto "$proto" --field used | cut -d= -f2)
    ITEMS[$name]=$("$OHLOAD" stat --port "$port" --proto "$proto" --field items | cut -d= -f2)
    stop_all
}

port=$(free_port 1)
start_offheapd "$port" || exit 1
measure offheapd resp "$port" || exit 1
port=$(free_port 2)
start_redis "$port" || exit 1
measure redis resp "$port" || exit 1
port=$(free_port 3)
start_memcached "$port" $(((N * 200 >> 20) + 64)) || exit 1
measure memcached mc "$port" || exit 1

per() { awk -v a="$1" -v n="$N" 'BEGIN {printf "%.1f", a / n}'; }
row() { printf '%-36s | %10s | %10s | %10s | %-16s | %s\n' "$@"; }

oh=$(per "${RSS1[offheapd]}") rd=$(per "${RSS1[redis]}") mc=$(per "${RSS1[memcached]}")
verdict=$(awk -v o="$oh" -v m="$mc" 'BEGIN {
    ok = o <= 64 && o <= 0.55 * m
    printf "%s: %.2fx memcached, %+.1f B vs 64 B", ok ? "MEETS" : "MISSES", o / m, o - 64}')
echo "M1: RSS per item, $N items (${KEY_LEN} B key, ${VAL_LEN} B value, EX $TTL)"
row metric offheapd redis memcached target verdict
row "RSS / items, total (B)" "$oh" "$rd" "$mc" "<=64, <=0.55x mc" "$verdict"
row "(RSS - RSS at start) / items (B)" \
    "$(per $((RSS1[offheapd] - RSS0[offheapd])))" \
    "$(per $((RSS1[redis] - RSS0[redis])))" \
    "$(per $((RSS1[memcached] - RSS0[memcached])))" "" ""
row "accounted memory / items (B) [1]" "$(per "${USED[offheapd]}")" \
    "$(per "${USED[redis]}")" "$(per "${USED[memcached]}")" "" ""
row "RSS at start (MiB)" "$(awk -v a="${RSS0[offheapd]}" 'BEGIN {printf "%.1f", a / 1048576}')" \
    "$(awk -v a="${RSS0[redis]}" 'BEGIN {printf "%.1f", a / 1048576}')" \
    "$(awk -v a="${RSS0[memcached]}" 'BEGIN {printf "%.1f", a / 1048576}')" "" ""
row "RSS after load (MiB)" "$(awk -v a="${RSS1[offheapd]}" 'BEGIN {printf "%.1f", a / 1048576}')" \
    "$(awk -v a="${RSS1[redis]}" 'BEGIN {printf "%.1f", a / 1048576}')" \
    "$(awk -v a="${RSS1[memcached]}" 'BEGIN {printf "%.1f", a / 1048576}')" "" ""
row "items stored" "${ITEMS[offheapd]}" "${ITEMS[redis]}" "${ITEMS[memcached]}" "$N" \
    "$([ "${ITEMS[offheapd]}" = "$N" ] && echo ok || echo "offheapd lost items")"
row "load time (s)" "${SECS[offheapd]}" "${SECS[redis]}" "${SECS[memcached]}" "" ""
echo "[1] offheapd maxmemory_used (entries + index), Redis used_memory, memcached bytes (items only)"
exit 0
