#!/usr/bin/env bash
# start-local.sh: three offheapd and a nutcracker in front of them, on
# loopback, in the foreground, to try the proxy (no root, nothing installed).
#
#   deploy/twemproxy/start-local.sh          then, in another terminal:
#   redis-cli -p <proxy port> set user:{42}:name ada
#   redis-cli -p <proxy port> get user:{42}:name
#
# Ctrl-C stops everything (each offheapd saves its snapshot on the way out).
#
# Environment (all optional):
#   OFFHEAPD     the server binary (default: build/offheapd, else offheapd
#                on PATH)
#   SHARD_PORTS  three ports, e.g. "6388 6389 6390" (default: free ones)
#   PROXY_PORT   nutcracker's port (default: a free one)
#   STATS_PORT   nutcracker's stats port, JSON on connect (default: a free one)
#   DIR          where logs, snapshots (DIR/shardN/dump.offheap) and the
#                rendered nutcracker.yml go; kept, so a second run starts
#                warm (default: a temporary dir, removed at exit)
# The proxy's settings come from nutcracker.yml next to this script; only
# the listen address and the shards' ports are replaced.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
TEMPLATE=$HERE/nutcracker.yml
READY_WAIT=50 # x 0.1 s

if [ -z "${OFFHEAPD:-}" ]; then
    if [ -x "$ROOT/build/offheapd" ]; then
        OFFHEAPD=$ROOT/build/offheapd
    else
        OFFHEAPD=$(command -v offheapd || true)
    fi
fi
if [ -z "$OFFHEAPD" ] || [ ! -x "$OFFHEAPD" ]; then
    echo "start-local.sh: no offheapd binary (run make, or set OFFHEAPD)" >&2
    exit 1
fi
for tool in nutcracker redis-cli; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "start-local.sh: $tool not found (Debian packages nutcracker, redis-tools;" \
            "deploy/install-deps.sh installs them)" >&2
        exit 1
    fi
done

port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
free_port() {
    local p=$((20000 + RANDOM % 40000))
    while port_busy "$p"; do p=$((20000 + RANDOM % 40000)); done
    echo "$p"
}

if [ -n "${DIR:-}" ]; then
    KEEP_DIR=1
    mkdir -p "$DIR"
else
    KEEP_DIR=0
    DIR=$(mktemp -d /tmp/offheap-twemproxy-XXXXXX)
fi
PIDS=()
finish() {
    local pid i
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        for i in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    done
    [ "$KEEP_DIR" = 1 ] || rm -rf "$DIR"
}
trap finish EXIT
trap 'exit 130' INT TERM

read -r -a PORTS <<<"${SHARD_PORTS:-$(free_port) $(free_port) $(free_port)}"
if [ "${#PORTS[@]}" -ne 3 ]; then
    echo "start-local.sh: SHARD_PORTS needs three ports, got '${SHARD_PORTS:-}'" >&2
    exit 1
fi
PROXY_PORT=${PROXY_PORT:-$(free_port)}
STATS_PORT=${STATS_PORT:-$(free_port)}

# nutcracker.yml with this run's ports; the shard names (what ketama
# hashes) stay, so placement does not depend on the ports.
sed -e "s|^\( *listen:\).*|\1 127.0.0.1:$PROXY_PORT|" \
    -e "s|127\.0\.0\.1:6388:|127.0.0.1:${PORTS[0]}:|" \
    -e "s|127\.0\.0\.1:6389:|127.0.0.1:${PORTS[1]}:|" \
    -e "s|127\.0\.0\.1:6390:|127.0.0.1:${PORTS[2]}:|" \
    "$TEMPLATE" >"$DIR/nutcracker.yml"

for i in 0 1 2; do
    mkdir -p "$DIR/shard$i"
    "$OFFHEAPD" --port "${PORTS[$i]}" --bind 127.0.0.1 --dir "$DIR/shard$i" \
        --logfile "$DIR/shard$i/offheapd.log" &
    PIDS+=($!)
done
for i in 0 1 2; do
    for _ in $(seq "$READY_WAIT"); do
        [ "$(redis-cli -p "${PORTS[$i]}" ping 2>/dev/null)" = PONG ] && break
        sleep 0.1
    done
    if [ "$(redis-cli -p "${PORTS[$i]}" ping 2>/dev/null)" != PONG ]; then
        echo "start-local.sh: offheapd on port ${PORTS[$i]} did not start:" >&2
        tail -n 20 "$DIR/shard$i/offheapd.log" >&2
        exit 1
    fi
done

nutcracker -c "$DIR/nutcracker.yml" -s "$STATS_PORT" -a 127.0.0.1 \
    -p "$DIR/nutcracker.pid" -o "$DIR/nutcracker.log" &
PIDS+=($!)
for _ in $(seq "$READY_WAIT"); do
    [ "$(redis-cli -p "$PROXY_PORT" ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
done
if [ "$(redis-cli -p "$PROXY_PORT" ping 2>/dev/null)" != PONG ]; then
    echo "start-local.sh: nutcracker did not answer on $PROXY_PORT:" >&2
    tail -n 20 "$DIR/nutcracker.log" >&2
    exit 1
fi

cat <<EOF
offheapd shards: 127.0.0.1:${PORTS[0]} (shard0), :${PORTS[1]} (shard1), :${PORTS[2]} (shard2)
nutcracker:      redis-cli -p $PROXY_PORT        (stats: nc 127.0.0.1 $STATS_PORT)
liboffheap, same placement without the proxy:
  offheap_connect("127.0.0.1:${PORTS[0]}:1 shard0,127.0.0.1:${PORTS[1]}:1 shard1,127.0.0.1:${PORTS[2]}:1 shard2", 1000)
files in $DIR$([ "$KEEP_DIR" = 1 ] || echo " (removed at exit; set DIR= to keep them)")
Ctrl-C stops all four.
EOF
# Runs until Ctrl-C or until one of the four exits.
wait -n "${PIDS[@]}"
echo "start-local.sh: a process exited; stopping the others" >&2
