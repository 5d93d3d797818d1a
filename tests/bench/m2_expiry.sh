#!/bin/bash
# M2: N keys set to expire at the same unix second T (SET ... EXAT T;
# memcached: exptime T) next to L live keys (EX 3600). From T-1 s to
# T+WATCH s, every 50 ms: used memory (Redis used_memory; offheapd
# maxmemory_used = entries + index, its used_memory leaves the index out;
# memcached: `bytes`)
# and GETs of 50 random expiring and 50 random live keys. Reclaimed share
# = (used before T - used now) / (used before T - used before the expiring
# load), so index memory that does not come back counts against it (the
# "entries only" rows leave offheapd's index out). Then
# GETs every expiring key (stale values still served) and checks every
# live key (EXISTS; memcached `mg k u`). One server at a time.
#   tests/bench/m2_expiry.sh   M2_EXPIRING_KEYS=1000000 M2_LIVE_KEYS=500000
#                              M2_VAL_LEN=32 M2_WATCH_SECS=10
#                              M2_LEAD=<s from now to T; default 3 + N/250k>
cd "$(dirname "$0")/../.." || exit 1
. tests/bench/lib.sh
OHLOAD=${OHLOAD:-build/ohload}
N=${M2_EXPIRING_KEYS:-1000000}
L=${M2_LIVE_KEYS:-500000}
VAL_LEN=${M2_VAL_LEN:-32}
WATCH=${M2_WATCH_SECS:-10}
LEAD=${M2_LEAD:-$((3 + N / 250000))}
trap stop_all EXIT
[ -x "$OFFHEAPD" ] || make -s server >/dev/null || exit 1
[ -x "$OHLOAD" ] || make -s bench-tools >/dev/null || exit 1

declare -A R
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2" | head -1; }
mib() { awk -v a="$1" 'BEGIN {if (a == "" || a == "?") print "-"; else printf "%.1f", a / 1048576}'; }
pct() { awk -v a="$1" 'BEGIN {if (a == "") print "-"; else printf "%.1f %%", a * 100}'; }

# measure <name> <proto> <port>
measure() {
    local name=$1 proto=$2 port=$3 pid out u0 t now lost stale counter
    local ol=("$OHLOAD" load --port "$port" --proto "$proto" --val-min "$VAL_LEN" --val-max "$VAL_LEN")
    pid=$(pid_of_port "$port")
    taskset -c "$CLIENT_CPU" "${ol[@]}" --prefix l --keys "$L" --ttl 3600 --conns 4 --pipeline 128 >/dev/null || return 1
    sleep 1
    u0=$("$OHLOAD" stat --port "$port" --proto "$proto" --field used | cut -d= -f2)
    u0e=$u0
    [ "$proto" = mc ] || u0e=$("$OHLOAD" stat --port "$port" --field used_memory | cut -d= -f2)
    t=$(($(date +%s) + LEAD))
    taskset -c "$CLIENT_CPU" "${ol[@]}" --prefix e --keys "$N" --expire-at "$t" --conns 4 --pipeline 128 >/dev/null || return 1
    R[$name.index_before_T]=$("$OHLOAD" stat --port "$port" --proto "$proto" --field used_memory_index | cut -d= -f2)
    now=$(date +%s%3N)
    if [ "$now" -gt $((t * 1000 - 1100)) ]; then
        echo "$name: loading ended $((now - t * 1000)) ms from T; raise M2_LEAD" >&2
        return 1
    fi
    out=$(taskset -c "$CLIENT_CPU" "$OHLOAD" expiry --port "$port" --proto "$proto" --pid "$pid" \
        --expire-at "$t" --keys "$N" --prefix e --live-keys "$L" --live-prefix l \
        --base-used "$u0" --base-entries "$u0e" --secs "$WATCH" --val-min "$VAL_LEN" --val-max "$VAL_LEN") || return 1
    if [ "$proto" = mc ]; then
        counter=$("$OHLOAD" stat --port "$port" --proto mc --field crawler_reclaimed | cut -d= -f2)
    else
        counter=$("$OHLOAD" stat --port "$port" --field expired_keys | cut -d= -f2)
    fi
    lost=$(kv misses "$(taskset -c "$CLIENT_CPU" "${ol[@]}" --op exists --prefix l --keys "$L" --pipeline 16)")
    stale=$(kv hits "$(taskset -c "$CLIENT_CPU" "${ol[@]}" --op get --prefix e --keys "$N" --pipeline 128)")
    for k in reclaimed_500ms reclaimed_1000ms reclaimed_2000ms reclaimed_5000ms reclaimed_end \
        t99_ms t100_ms entries_reclaimed_500ms entries_reclaimed_1000ms entries_reclaimed_2000ms \
        entries_t99_ms served_after_T probed_after_T early_misses used_before_T rss_before_T \
        rss_1000ms; do
        R[$name.$k]=$(kv "$k" "$out")
    done
    R[$name.rss_end]=$(rss_bytes "$pid")
    R[$name.used_end]=$("$OHLOAD" stat --port "$port" --proto "$proto" --field used | cut -d= -f2)
    R[$name.index_end]=$("$OHLOAD" stat --port "$port" --proto "$proto" --field used_memory_index | cut -d= -f2)
    R[$name.u0]=$u0 R[$name.lost]=$lost R[$name.stale]=$stale R[$name.counter]=$counter
    stop_all
}

port=$(free_port 1)
start_offheapd "$port" || exit 1
measure offheapd resp "$port" || exit 1
port=$(free_port 2)
start_redis "$port" || exit 1
measure redis resp "$port" || exit 1
port=$(free_port 3)
start_memcached "$port" $((((N + L) * 200 >> 20) + 64)) || exit 1
measure memcached mc "$port" || exit 1

row() { printf '%-40s | %10s | %10s | %10s | %-8s | %s\n' "$@"; }
# line <label> <key> <formatter> [target] [verdict]
line() {
    row "$1" "$($3 "${R[offheapd.$2]}")" "$($3 "${R[redis.$2]}")" "$($3 "${R[memcached.$2]}")" "$4" "$5"
}
same() { echo "${1:--}"; }
ms() { [ "$1" = -1 ] && echo never || echo "${1:--}"; }
v1=$(awk -v a="${R[offheapd.reclaimed_1000ms]}" -v r="${R[redis.reclaimed_1000ms]}" 'BEGIN {
    printf "%s (%+.1f points; redis %.1f %%)", (a >= 0.99 ? "MEETS" : "MISSES"), (a - 0.99) * 100, r * 100}')
v2=$(awk -v a="${R[offheapd.reclaimed_2000ms]}" 'BEGIN {printf "%s", (a >= 1.0 ? "MEETS" : "MISSES")}')
zero() { [ "${R[offheapd.$1]}" = 0 ] && echo MEETS || echo "MISSES (${R[offheapd.$1]})"; }
echo "M2: $N keys expiring at T next to $L live keys (${VAL_LEN} B values); memory sampled every 50 ms"
row metric offheapd redis memcached target verdict
line "reclaimed by T+0.5 s" reclaimed_500ms pct
line "reclaimed by T+1 s" reclaimed_1000ms pct ">= 99 %" "$v1"
line "reclaimed by T+2 s" reclaimed_2000ms pct "100 %" "$v2"
line "reclaimed by T+5 s" reclaimed_5000ms pct
line "reclaimed by T+$WATCH s" reclaimed_end pct
line "time to 99 % reclaimed (ms after T)" t99_ms ms
line "time to 100 % reclaimed (ms after T)" t100_ms ms
line "entries only [1]: reclaimed by T+0.5 s" entries_reclaimed_500ms pct
line "entries only [1]: reclaimed by T+1 s" entries_reclaimed_1000ms pct
line "entries only [1]: reclaimed by T+2 s" entries_reclaimed_2000ms pct
line "entries only [1]: time to 99 % (ms)" entries_t99_ms ms
line "expiring keys served after T (sampled)" served_after_T same 0 "$(zero served_after_T)"
line "  of sampled GETs after T" probed_after_T same
line "expiring keys missing before T (sampled)" early_misses same 0 "$(zero early_misses)"
line "expiring keys served at T+$WATCH s (all)" stale same 0 "$(zero stale)"
line "live keys lost (of $L)" lost same 0 "$(zero lost)"
line "expired counter [mc: crawler_reclaimed]" counter same
line "used before expiring load (MiB)" u0 mib
line "used just before T (MiB)" used_before_T mib
line "used at end (MiB)" used_end mib
line "offheapd index bytes before T (MiB)" index_before_T mib
line "offheapd index bytes at end (MiB)" index_end mib
line "RSS just before T (MiB)" rss_before_T mib
line "RSS at T+1 s (MiB)" rss_1000ms mib
line "RSS at end (MiB)" rss_end mib
echo "[1] offheapd used_memory, which leaves its index out; the same figures for the peers"
exit 0
