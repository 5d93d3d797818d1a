#!/bin/bash
# M3: look-aside replay (GET; SET on a miss) with `ohload replay`, the first
# 20 % of requests not counted, against offheapd with no limit (the
# compulsory floor), redis-server allkeys-lru and memcached -m at the same
# nominal limit, offheapd at the nominal limit, and offheapd at equal RSS:
# the largest maxmemory (found by up to M3_MATCH_TRIES runs of the zipf
# workload) whose peak RSS is <= memcached's. Workloads:
#   zipf   Zipf(M3_ZIPF) over M3_KEYS keys
#   scan   the same, with 25 % of requests in bursts of 20 k keys read once
#          (a scan): the hot keys' miss ratio is the one that counts
#   shift  the same, with the popularity ranking rotated by keys/10 every
#          requests/10 (the old hot set goes cold, a warm one becomes hot)
# RSS is VmRSS (fixed overhead included), the peak seen during the replay.
# Batches of M3_PIPELINE GETs (then the SETs of their misses) on one
# connection. offheapd's miss ratio depends on the request rate (its
# eviction merges run from the 100 Hz tick), so the zipf table also shows
# it at equal RSS with batches of M3_FAST_PIPELINE (a higher rate).
#   tests/bench/m3_missratio.sh   M3_KEYS=200000 M3_REQUESTS=3000000
#       M3_MEM_MB=8 M3_ZIPF=1.0 M3_VAL_MIN=100 M3_VAL_MAX=300
#       M3_WORKLOADS="zipf scan shift" M3_MATCH_TRIES=3 M3_SEED=1
#       M3_PIPELINE=32 M3_FAST_PIPELINE=256 M3_FLOOR=zipf (or "all")
cd "$(dirname "$0")/../.." || exit 1
. tests/bench/lib.sh
OHLOAD=${OHLOAD:-build/ohload}
KEYS=${M3_KEYS:-200000}
REQUESTS=${M3_REQUESTS:-3000000}
MEM_MB=${M3_MEM_MB:-8}
ZIPF=${M3_ZIPF:-1.0}
VAL_MIN=${M3_VAL_MIN:-100}
VAL_MAX=${M3_VAL_MAX:-300}
WORKLOADS=${M3_WORKLOADS:-zipf scan shift}
TRIES=${M3_MATCH_TRIES:-3}
SEED=${M3_SEED:-1}
PIPELINE=${M3_PIPELINE:-32}
FAST_PIPELINE=${M3_FAST_PIPELINE:-256}
FLOOR=${M3_FLOOR:-zipf}
trap stop_all EXIT
[ -x "$OFFHEAPD" ] || make -s server >/dev/null || exit 1
[ -x "$OHLOAD" ] || make -s bench-tools >/dev/null || exit 1

kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2" | head -1; }
mib() { awk -v a="$1" 'BEGIN {if (a == "") print "-"; else printf "%.2f", a / 1048576}'; }
pct() { awk -v a="$1" 'BEGIN {if (a == "") print "-"; else printf "%.2f %%", a * 100}'; }

# replay <workload> <proto> <port>: prints "miss hot_miss rss_peak
# set_errors rate"
replay() {
    local pid out rss
    pid=$(pid_of_port "$3")
    out=$(taskset -c "$CLIENT_CPU" "$OHLOAD" replay --port "$3" --proto "$2" --pid "$pid" \
        --workload "$1" --keys "$KEYS" --requests "$REQUESTS" --zipf "$ZIPF" \
        --val-min "$VAL_MIN" --val-max "$VAL_MAX" --seed "$SEED" --pipeline "${PIPE:-$PIPELINE}") || return 1
    if [ "$(kv bad "$out")" != 0 ] || [ "$(kv errors "$out")" != 0 ]; then
        echo "replay on port $3: $out" >&2
    fi
    rss=$(rss_bytes "$pid")
    rss=$(awk -v a="$rss" -v b="$(kv rss_peak "$out")" 'BEGIN {print (a > b ? a : b)}')
    echo "$(kv all_miss_ratio "$out") $(kv hot_miss_ratio "$out") $rss $(kv set_errors "$out") $(kv rate "$out")"
    stop_all
}

# run <server> <workload> [maxmemory bytes]: one fresh server, one replay.
run() {
    local port
    port=$(free_port 1)
    case $1 in
    offheapd) start_offheapd "$port" ${3:+--maxmemory "$3"} || return 1 ;;
    redis) start_redis "$port" --maxmemory "${MEM_MB}mb" --maxmemory-policy allkeys-lru || return 1 ;;
    memcached) start_memcached "$port" "$MEM_MB" || return 1 ;;
    esac
    replay "$2" "$([ "$1" = memcached ] && echo mc || echo resp)" "$port"
}

row() { printf '%-40s | %12s | %10s | %10s | %-22s | %s\n' "$@"; }
MATCHED=""
for w in $WORKLOADS; do
    fl_m="" fl_h="" fl_r=""
    if [ "$FLOOR" = all ] || [ "$w" = zipf ]; then
        read -r fl_m fl_h fl_r _ <<<"$(run offheapd "$w")" || exit 1
    fi
    read -r rd_m rd_h rd_r _ rd_rate <<<"$(run redis "$w")" || exit 1
    read -r mc_m mc_h mc_r mc_e mc_rate <<<"$(run memcached "$w")" || exit 1
    read -r oh_m oh_h oh_r oh_e oh_rate <<<"$(run offheapd "$w" $((MEM_MB << 20)))" || exit 1
    # equal RSS: search on the first workload, reuse the limit on the rest
    if [ -z "$MATCHED" ]; then
        m=$(((MEM_MB << 20) + mc_r - oh_r - 65536))
        eq_m="" eq_h="" eq_r="" eq_mem=""
        for _ in $(seq 1 "$TRIES"); do
            read -r a h r _ <<<"$(run offheapd "$w" "$m")" || exit 1
            if [ "$r" -le "$mc_r" ] && { [ -z "$eq_mem" ] || [ "$m" -gt "$eq_mem" ]; }; then
                eq_m=$a eq_h=$h eq_r=$r eq_mem=$m
            fi
            [ "$r" -le "$mc_r" ] && [ $((mc_r - r)) -lt 262144 ] && break
            m=$((m + (mc_r - r) * 9 / 10))
            [ "$r" -gt "$mc_r" ] && m=$((m - 131072))
        done
        if [ -z "$eq_mem" ]; then
            echo "no offheapd maxmemory tried gave RSS <= memcached's; using the last" >&2
            eq_m=$a eq_h=$h eq_r=$r eq_mem=$m
        fi
        MATCHED=$eq_mem
    else
        read -r eq_m eq_h eq_r _ <<<"$(run offheapd "$w" "$MATCHED")" || exit 1
    fi
    # the figure that counts: hot keys for scan, all requests otherwise
    if [ "$w" = scan ]; then
        k_oh=$eq_h k_rd=$rd_h k_mc=$mc_h k_8=$oh_h what="hot-key miss ratio"
    else
        k_oh=$eq_m k_rd=$rd_m k_mc=$mc_m k_8=$oh_m what="miss ratio"
    fi
    verdict=$(awk -v o="$k_oh" -v r="$k_rd" -v m="$k_mc" -v orss="$eq_r" -v mrss="$mc_r" 'BEGIN {
        b = r < m ? r : m
        ok = o <= 0.85 * b && orss <= mrss
        printf "%s: %.3fx the better peer%s", (ok ? "MEETS" : "MISSES"), (b > 0 ? o / b : 0),
            (orss <= mrss ? "" : ", RSS above memcached")}')
    v8=$(awk -v o="$k_8" -v r="$k_rd" -v m="$k_mc" 'BEGIN {b = r < m ? r : m
        printf "%.3fx the better peer", (b > 0 ? o / b : 0)}')
    echo
    echo "M3 [$w]: Zipf $ZIPF over $KEYS keys, $VAL_MIN-$VAL_MAX B values, $REQUESTS requests, nominal limit $MEM_MB MiB"
    row metric offheapd redis memcached target verdict
    row "$what, equal RSS" "$(pct "$k_oh")" "$(pct "$k_rd")" "$(pct "$k_mc")" "<= 0.85x better peer" "$verdict"
    row "  offheapd maxmemory for equal RSS (MiB)" "$(mib "$MATCHED")" "-" "-" "RSS <= memcached" ""
    row "  peak RSS (MiB)" "$(mib "$eq_r")" "$(mib "$rd_r")" "$(mib "$mc_r")" "" ""
    row "$what, nominal ${MEM_MB} MiB" "$(pct "$k_8")" "$(pct "$k_rd")" "$(pct "$k_mc")" "" "$v8"
    row "  peak RSS (MiB)" "$(mib "$oh_r")" "$(mib "$rd_r")" "$(mib "$mc_r")" "" ""
    if [ "$w" = scan ]; then
        row "all-request miss ratio, equal RSS" "$(pct "$eq_m")" "$(pct "$rd_m")" "$(pct "$mc_m")" "" ""
    fi
    if [ -n "$fl_r" ]; then
        row "$what, no limit (floor)" "$(pct "$([ "$w" = scan ] && echo "$fl_h" || echo "$fl_m")")" "" "" "" \
            "peak RSS $(mib "$fl_r") MiB"
    fi
    row "requests/s (nominal run)" "$oh_rate" "$rd_rate" "$mc_rate" "" ""
    row "SETs refused (nominal run)" "${oh_e:-0}" "-" "${mc_e:-0}" "" ""
    if [ "$w" = zipf ] && [ "$FAST_PIPELINE" -gt 0 ]; then
        read -r f_m _ f_r _ f_rate <<<"$(PIPE=$FAST_PIPELINE run offheapd "$w" "$MATCHED")" || exit 1
        read -r g_m _ g_r _ g_rate <<<"$(PIPE=$FAST_PIPELINE run memcached "$w")" || exit 1
        row "miss ratio, equal RSS, batches of $FAST_PIPELINE" "$(pct "$f_m")" "-" "$(pct "$g_m")" "" \
            "at $f_rate / $g_rate req/s; RSS $(mib "$f_r") / $(mib "$g_r") MiB"
    fi
done
exit 0
