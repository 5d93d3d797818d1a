# Shared helpers for the benchmarks (sourced). Servers run pinned to core 0,
# load generators to core 1 (override with SERVER_CPU / CLIENT_CPU).
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
OFFHEAPD=${OFFHEAPD:-build/offheapd}
BENCH_PIDS=""
BENCH_PID_DIR=$(mktemp -d /tmp/oh-bench-XXXXXX) # pid of the server on each port

free_port() { # free_port <n>: a port nothing listens on
    local fp=$((20000 + ($$ * 7 + ${1:-0} * 131) % 20000))
    while ss -ltn 2>/dev/null | awk '{print $4}' | grep -q ":$fp\$"; do
        fp=$((fp + 1))
    done
    echo "$fp"
}

wait_ping() { # wait_ping <port>
    for _ in $(seq 1 100); do
        redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "server on port $1 did not answer" >&2
    return 1
}

start_offheapd() { # start_offheapd <port> [options...]
    local sport=$1
    shift
    # OFFHEAPD_ARGS: more options for every offheapd, e.g. "--unixsocket
    # /tmp/oh.sock" to measure with local reads on (memory shared)
    # shellcheck disable=SC2086
    taskset -c "$SERVER_CPU" "$OFFHEAPD" --port "$sport" --loglevel warning --snapshot-file "" "$@" ${OFFHEAPD_ARGS:-} >/dev/null 2>&1 &
    BENCH_PIDS="$BENCH_PIDS $!"
    mkdir -p "$BENCH_PID_DIR" && echo $! >"$BENCH_PID_DIR/$sport"
    wait_ping "$sport"
}

start_redis() { # start_redis <port> [options...]
    local sport=$1
    shift
    taskset -c "$SERVER_CPU" redis-server --port "$sport" --save '' --appendonly no \
        --bind 127.0.0.1 --loglevel warning "$@" >/dev/null 2>&1 &
    BENCH_PIDS="$BENCH_PIDS $!"
    mkdir -p "$BENCH_PID_DIR" && echo $! >"$BENCH_PID_DIR/$sport"
    wait_ping "$sport"
}

start_memcached() { # start_memcached <port> <megabytes> [options...]
    local sport=$1 mb=$2
    shift 2
    taskset -c "$SERVER_CPU" memcached -p "$sport" -l 127.0.0.1 -U 0 -m "$mb" -t 1 -u nobody "$@" >/dev/null 2>&1 &
    BENCH_PIDS="$BENCH_PIDS $!"
    mkdir -p "$BENCH_PID_DIR" && echo $! >"$BENCH_PID_DIR/$sport"
    sleep 0.3
}

pid_of_port() { cat "$BENCH_PID_DIR/$1"; }

stop_all() { # stops every server started here; forgets their pids
    local sp
    for sp in $BENCH_PIDS; do
        kill "$sp" 2>/dev/null
    done
    wait 2>/dev/null
    BENCH_PIDS=""
    rm -rf "$BENCH_PID_DIR"
}

# CPU seconds (user + system) a process has used, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

rss_bytes() { awk '/VmRSS/ {print $2 * 1024}' "/proc/$1/status"; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print 0; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
