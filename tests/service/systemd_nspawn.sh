#!/usr/bin/env bash
# systemd_nspawn.sh: offheapd as a service under a real systemd, in a
# Debian 12 container booted with systemd-nspawn. `make service-test` runs
# it (as root; not part of `make test`: it needs privileges and downloads a
# minimal Debian with debootstrap the first time, ~45 s).
#
# The files are staged with `make install service-install DESTDIR=<root>`,
# exactly as a package would ship them, and the unit is enabled; then the
# container boots and the checks talk to its systemd with nsenter:
# start (Type=notify, READY and STATUS), the hardening (the unit as
# written: seccomp, read-only system, no capabilities), BGSAVE (a fork
# under the filter), reload (SIGHUP), a restart that keeps every key and
# TTL, the watchdog (a stopped process is killed and restarted), a clean
# stop that leaves a private snapshot, and `systemd-analyze security`.
# Prints one line per check and, last, "N passed, N failed".
set -u

ROOT_DIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT_DIR/tests/support/checks.sh"
CROOT=${OH_NSPAWN_ROOT:-$ROOT_DIR/build/nspawn-root}
MACHINE="ohtest$$"
NSPAWN_PID=
INIT_PID=

finish() {
    if [ -n "$INIT_PID" ] && kill -0 "$INIT_PID" 2>/dev/null; then
        in_ct systemctl poweroff >/dev/null 2>&1
        for _ in $(seq 100); do
            kill -0 "$NSPAWN_PID" 2>/dev/null || break
            sleep 0.1
        done
    fi
    if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
        kill -TERM "$NSPAWN_PID" # nspawn halts the container on SIGTERM
        for _ in $(seq 100); do
            kill -0 "$NSPAWN_PID" 2>/dev/null || return 0
            sleep 0.1
        done
        kill -KILL "$NSPAWN_PID"
    fi
}
trap finish EXIT

give_up() {
    not_ok "$1" "${2:-}"
    checks_summary
    exit 1
}

# in_ct CMD...: runs CMD inside the container (all its namespaces).
in_ct() {
    nsenter -t "$INIT_PID" -a "$@"
}

[ "$(id -u)" = 0 ] || give_up "runs as root (systemd-nspawn needs it)"
for tool in debootstrap systemd-nspawn; do
    if ! command -v "$tool" >/dev/null; then
        apt-get install -y debootstrap systemd-container >/dev/null 2>&1 ||
            give_up "$tool installed (apt-get install debootstrap systemd-container)"
    fi
done

# ---- the container's file system ----
if [ ! -x "$CROOT/lib/systemd/systemd" ]; then
    echo "# debootstrap of Debian 12 into $CROOT"
    rm -rf "$CROOT"
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,redis-tools,procps \
        bookworm "$CROOT" http://deb.debian.org/debian >"$CROOT.log" 2>&1 ||
        give_up "debootstrap" "$(tail -5 "$CROOT.log")"
fi
rm -rf "$CROOT/var/lib/offheap" "$CROOT/etc/offheap" "$CROOT"/var/log/journal/*
(cd "$ROOT_DIR" && make -s install service-install DESTDIR="$CROOT") >/dev/null ||
    give_up "make install service-install DESTDIR=$CROOT"
PORT=$(free_port)
sed -i "s/^port .*/port $PORT/" "$CROOT/etc/offheap/offheapd.conf"
mkdir -p "$CROOT/etc/systemd/system/multi-user.target.wants"
ln -sf /usr/local/lib/systemd/system/offheapd.service \
    "$CROOT/etc/systemd/system/multi-user.target.wants/offheapd.service"

# nspawn keeps mount propagation state here and insists on a tmpfs
mkdir -p /run/systemd/nspawn
if ! mountpoint -q /run/systemd/nspawn; then
    mount -t tmpfs tmpfs /run/systemd/nspawn || give_up "tmpfs on /run/systemd/nspawn"
fi

# ---- boot ----
setsid systemd-nspawn --register=no --keep-unit --console=pipe -q \
    -D "$CROOT" -b --machine="$MACHINE" </dev/null >"$CROOT.boot.log" 2>&1 &
NSPAWN_PID=$!
for _ in $(seq 100); do
    INIT_PID=$(pgrep -P "$NSPAWN_PID" -x systemd | head -n 1)
    [ -n "$INIT_PID" ] && break
    sleep 0.1
done
[ -n "$INIT_PID" ] || give_up "the container boots" "$(cat "$CROOT.boot.log")"
state=
for _ in $(seq 300); do
    state=$(in_ct systemctl is-system-running 2>/dev/null)
    case $state in running | degraded) break ;; esac
    sleep 0.1
done
echo "# container $MACHINE booted ($state); offheapd on port $PORT"

cli() {
    in_ct redis-cli -p "$PORT" "$@" 2>&1
}
prop() { # prop NAME: a property of the unit
    in_ct systemctl show offheapd -p "$1" --value
}
wait_active() {
    for _ in $(seq 100); do
        [ "$(prop ActiveState)" = active ] && return 0
        sleep 0.1
    done
    return 1
}

# ---- start ----
if wait_active; then
    ok "offheapd.service is active after boot (Type=notify: READY=1)"
else
    give_up "offheapd.service is active after boot" \
        "$(in_ct journalctl -u offheapd --no-pager | tail -20)"
fi
expect_match "STATUS= says it is ready" '^Ready: 0 keys' "$(prop StatusText)"
expect "PING through the hardened unit" "PONG" "$(cli ping)"
# the installed config listens on /run/offheap/offheapd.sock, and memfd
# sharing works under the unit's system call filter and hardening
sock_status=$(in_ct redis-cli -s /run/offheap/offheapd.sock localread status 2>&1 | tr '\n' ' ')
expect_match "local reads are on through the unit's Unix socket" '^enabled 1 ' "$sock_status"
expect "the socket is the offheap group's (0770 in 0750)" "srwxrwx--- offheap offheap" \
    "$(in_ct stat -c '%A %U %G' /run/offheap/offheapd.sock)"

# ---- data, BGSAVE (fork under the system call filter), reload ----
cli set persistent v >/dev/null
cli set volatile v EX 1000 >/dev/null
cli debug populate 50000 >/dev/null
expect "BGSAVE starts" "Background saving started" "$(cli bgsave)"
sleep 1
expect_match "BGSAVE succeeded" '^rdb_last_bgsave_status:ok' \
    "$(cli info persistence | tr -d '\r')"
expect_match "CONFIG REWRITE says why it cannot write /etc" \
    'Rewriting config file: Read-only file system' "$(cli config rewrite)"
pid_before=$(prop MainPID)
in_ct systemctl reload offheapd
expect "reload keeps the process" "$pid_before" "$(prop MainPID)"
expect_match "reload ends READY again" 'configuration reloaded' "$(prop StatusText)"

# ---- restart: nothing lost ----
in_ct systemctl restart offheapd
wait_active
expect "restart keeps every key" "50002" "$(cli dbsize)"
ttl=$(cli ttl volatile)
if [ "$ttl" -gt 990 ] 2>/dev/null && [ "$ttl" -le 1000 ]; then
    ok "restart keeps the TTL ($ttl s)"
else
    not_ok "restart keeps the TTL" "ttl volatile: $ttl"
fi
expect "restart keeps the persistent key" "-1" "$(cli ttl persistent)"

# ---- the watchdog: a process that stops answering is restarted ----
ts1=$(prop WatchdogTimestampMonotonic)
sleep 16 # offheapd pings every WatchdogSec/2 = 15 s
ts2=$(prop WatchdogTimestampMonotonic)
if [ "$ts2" -gt "$ts1" ] 2>/dev/null; then
    ok "WATCHDOG=1 arrives every WatchdogSec/2"
else
    not_ok "WATCHDOG=1 arrives every WatchdogSec/2" "$ts1 -> $ts2"
fi
main=$(prop MainPID)
in_ct kill -STOP "$main"
for _ in $(seq 450); do # WatchdogSec=30s, then RestartSec=1s
    [ "$(prop NRestarts)" -ge 1 ] 2>/dev/null && wait_active && break
    sleep 0.1
done
expect "a stopped offheapd is killed by the watchdog and restarted" "1" \
    "$(prop NRestarts)"
expect "it serves again" "PONG" "$(cli ping)"

# ---- clean stop ----
cli set last one >/dev/null
in_ct systemctl stop offheapd
expect "stop is clean (exit 0)" "success" "$(prop Result)"
expect "the snapshot is private to the service" "600 offheap" \
    "$(in_ct stat -c '%a %U' /var/lib/offheap/dump.offheap)"
log=$(in_ct journalctl -b -u offheapd --no-pager -o cat)
expect_match "the journal shows the save on stop" 'snapshot: saved' "$log"
if printf '%s\n' "$log" | grep -qi 'permission denied\|operation not permitted'; then
    not_ok "no permission errors in the journal" \
        "$(printf '%s\n' "$log" | grep -i 'denied\|not permitted')"
else
    ok "no permission errors in the journal"
fi
exposure=$(in_ct systemd-analyze security offheapd --no-pager 2>&1 |
    sed -n 's/.*Overall exposure level for offheapd.service: \([0-9.]*\).*/\1/p')
if awk -v e="$exposure" 'BEGIN {exit !(e != "" && e <= 2.0)}'; then
    ok "systemd-analyze security: exposure $exposure (<= 2.0)"
else
    not_ok "systemd-analyze security: exposure <= 2.0" "got '$exposure'"
fi
checks_summary
