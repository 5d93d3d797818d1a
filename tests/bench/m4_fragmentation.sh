#!/bin/bash
# M4: a value-size shift. Each server gets a memory limit of M4_MEM_MB
# (offheapd --maxmemory, redis --maxmemory + allkeys-lru, memcached -m) and
# is filled with M4_FILL x its size in 100-byte values (keys a...). Then
# the workload switches to a new working set of 1000-byte values (keys
# b...) worth M4_WORKING_SET of the limit, read look-aside in rounds (every
# key once per round, in a new random order). After each round the live
# new keys are counted without touching them (EXISTS; memcached `mg k u`)
# and RSS is read. Live data = live keys x (key + value bytes), the new
# ones at 12 + 1000 B, the old at 12 + 100 B. Round times exclude counting.
#   time to steady    end of the last round with a hit ratio below
#                     M4_STEADY (0.95: the set fits in half the memory, so
#                     a cache that has adapted serves it all); -1: the
#                     last round is still below (the first round is all
#                     misses by construction)
#   steady hit ratio  mean of the last quarter of the rounds
#   RSS / live data   after the fill, the peak over the rounds, the last
#   tests/bench/m4_fragmentation.sh   M4_MEM_MB=256 M4_FILL=1.5
#       M4_WORKING_SET=0.5 M4_SECS=30 M4_SMALL=100 M4_LARGE=1000 M4_SEED=1
#       M4_STEADY=0.95 M4_VERBOSE= (set: print every round)
#       M4_SERVERS="offheapd redis memcached" (a subset skips the others)
cd "$(dirname "$0")/../.." || exit 1
. tests/bench/lib.sh
OHLOAD=${OHLOAD:-build/ohload}
MEM_MB=${M4_MEM_MB:-256}
FILL=${M4_FILL:-1.5}
WS=${M4_WORKING_SET:-0.5}
SECS=${M4_SECS:-30}
SMALL=${M4_SMALL:-100}
LARGE=${M4_LARGE:-1000}
SEED=${M4_SEED:-1}
STEADY=${M4_STEADY:-0.95}
SERVERS=${M4_SERVERS:-offheapd redis memcached}
KEY_LEN=12
trap stop_all EXIT
[ -x "$OFFHEAPD" ] || make -s server >/dev/null || exit 1
[ -x "$OHLOAD" ] || make -s bench-tools >/dev/null || exit 1

N_SMALL=$(awk -v m="$MEM_MB" -v f="$FILL" -v s=$((KEY_LEN + SMALL)) 'BEGIN {printf "%d", m * 1048576 * f / s}')
N_LARGE=$(awk -v m="$MEM_MB" -v w="$WS" -v s=$((KEY_LEN + LARGE)) 'BEGIN {printf "%d", m * 1048576 * w / s}')
TARGET_S=$(awk -v m="$MEM_MB" 'BEGIN {printf "%.2f", m / 1024 * 10}')

declare -A R
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2" | head -1; }

# measure <name> <proto> <port>
measure() {
    local name=$1 proto=$2 port=$3 pid out items rss
    pid=$(pid_of_port "$port")
    taskset -c "$CLIENT_CPU" "$OHLOAD" load --port "$port" --proto "$proto" --prefix a \
        --keys "$N_SMALL" --val-min "$SMALL" --val-max "$SMALL" --conns 4 --pipeline 128 \
        >/dev/null || return 1
    sleep 1
    items=$("$OHLOAD" stat --port "$port" --proto "$proto" --field items | cut -d= -f2)
    rss=$(rss_bytes "$pid")
    R[$name.fill_ratio]=$(awk -v r="$rss" -v n="$items" -v s=$((KEY_LEN + SMALL)) 'BEGIN {printf "%.3f", r / (n * s)}')
    R[$name.fill_rss]=$rss R[$name.fill_items]=$items
    out=$(taskset -c "$CLIENT_CPU" "$OHLOAD" rounds --port "$port" --proto "$proto" --pid "$pid" \
        --prefix b --keys "$N_LARGE" --val-min "$LARGE" --val-max "$LARGE" --secs "$SECS" \
        --old-item $((KEY_LEN + SMALL)) --seed "$SEED" --pipeline 64 --verbose 1 \
        --steady "$STEADY") || return 1
    [ -n "$M4_VERBOSE" ] && echo "$name:" && grep '^round=' <<<"$out" | sed 's/^/  /'
    out=$(grep '^rounds=' <<<"$out")
    for k in rounds steady_hit t_steady rss_peak ratio_peak ratio_settled hit_last \
        live_bytes_last rss_last new_live_last items_last; do
        R[$name.$k]=$(kv "$k" "$out")
    done
    R[$name.index]=$("$OHLOAD" stat --port "$port" --proto "$proto" --field used_memory_index | cut -d= -f2)
    stop_all
}

runs() { [[ " $SERVERS " == *" $1 "* ]]; }
if runs offheapd; then
    port=$(free_port 1)
    start_offheapd "$port" --maxmemory "${MEM_MB}mb" || exit 1
    measure offheapd resp "$port" || exit 1
fi
if runs redis; then
    port=$(free_port 2)
    start_redis "$port" --maxmemory "${MEM_MB}mb" --maxmemory-policy allkeys-lru || exit 1
    measure redis resp "$port" || exit 1
fi
if runs memcached; then
    port=$(free_port 3)
    start_memcached "$port" "$MEM_MB" || exit 1
    measure memcached mc "$port" || exit 1
fi

row() { printf '%-40s | %10s | %10s | %10s | %-10s | %s\n' "$@"; }
line() { row "$1" "${R[offheapd.$2]}" "${R[redis.$2]}" "${R[memcached.$2]}" "$3" "$4"; }
fmt() { for s in offheapd redis memcached; do R[$s.$1]=$(awk -v a="${R[$s.$1]}" "BEGIN {if (a == \"?\" || a == \"\") print \"-\"; else printf \"$2\", a $3}"); done; }
fmt steady_hit "%.1f %%" "* 100"
fmt hit_last "%.1f %%" "* 100"
fmt rss_peak "%.1f" "/ 1048576"
fmt fill_rss "%.1f" "/ 1048576"
fmt live_bytes_last "%.1f" "/ 1048576"
fmt rss_last "%.1f" "/ 1048576"
peak=$(awk -v a="${R[offheapd.fill_ratio]}" -v b="${R[offheapd.ratio_peak]}" 'BEGIN {print (a > b ? a : b)}')
vpeak=$(awk -v a="$peak" 'BEGIN {printf "%s (%.3f)", (a <= 1.25 ? "MEETS" : "MISSES"), a}')
vset=$(awk -v a="${R[offheapd.ratio_settled]}" 'BEGIN {printf "%s", (a <= 1.10 ? "MEETS" : "MISSES")}')
vt=$(awk -v t="${R[offheapd.t_steady]}" -v g="$TARGET_S" 'BEGIN {
    printf "%s", (t >= 0 && t <= g ? "MEETS" : "MISSES")}')
for s in offheapd redis memcached; do
    [ "${R[$s.t_steady]}" = "-1.00" ] && R[$s.t_steady]="never"
done
fmt index "%.1f" "/ 1048576"
fmt fill_items "%d" ""
echo "M4: limit $MEM_MB MiB; fill $N_SMALL x $SMALL B, then $N_LARGE x $LARGE B look-aside rounds for $SECS s"
row metric offheapd redis memcached target verdict
line "RSS / live data after the fill" fill_ratio "<= 1.25" ""
line "RSS / live data, peak over the rounds" ratio_peak "<= 1.25" "$vpeak"
line "RSS / live data, last round (settled)" ratio_settled "<= 1.10" "$vset"
line "time to >= $(awk -v s="$STEADY" 'BEGIN {print s * 100}') % hits, to stay (s)" t_steady "<= $TARGET_S" "$vt"
line "steady hit ratio (last quarter)" steady_hit "" ""
line "hit ratio, last round" hit_last "" ""
line "new keys live at the end (of $N_LARGE)" new_live_last "" ""
line "keys live at the end" items_last "" ""
line "rounds run" rounds "" ""
line "keys live after the fill" fill_items "" ""
line "RSS after the fill (MiB)" fill_rss "" ""
line "RSS peak over the rounds (MiB)" rss_peak "" ""
line "RSS, last round (MiB)" rss_last "" ""
line "live data, last round (MiB)" live_bytes_last "" ""
line "offheapd index memory at the end (MiB)" index "" ""
exit 0
