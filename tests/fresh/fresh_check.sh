#!/usr/bin/env bash
# fresh_check.sh: the README's first commands on a pristine Debian 12, as a
# new user runs them. `make fresh-check` (root) runs it; so does .ci/run.
#
#   1. A bookworm root from debootstrap --variant=minbase with only
#      $FRESH_PKGS added, cached in $CACHE (keyed by suite, mirror and that
#      package list; built the first time, ~1 min).
#   2. A fresh copy of it for this run, given the host's extra CA
#      certificates (/usr/local/share/ca-certificates, then
#      update-ca-certificates) and /etc/resolv.conf, and nothing else of the
#      host but the proxy variables, if set.
#   3. The repository's HEAD, cloned into the copy (commit first: changes
#      not committed are not part of the check).
#   4. In a chroot, in private mount and PID namespaces (every mount and
#      every process left behind goes with them): `make test`, which must
#      end with "N passed, N failed" and 0 failed, then `make run` in the
#      background, which must answer `redis-cli -p 6388 ping` with PONG.
#
# Prints the commit, the time `make test` took and its counts; the last line
# is "N passed, N failed": the suite's counts plus one for `make run`.
#
# Environment: OH_FRESH_CACHE (default /var/cache/offheap-fresh),
# OH_FRESH_MIRROR (default: the host's bookworm mirror), OH_FRESH_KEEP=1
# keeps the run's copy (its path is printed), OH_FRESH_MAKEFLAGS (e.g. -j2),
# OH_FRESH_TARGET (default test: the target run first, e.g. asan or all).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${OH_FRESH_CACHE:-/var/cache/offheap-fresh}
SUITE=bookworm
FRESH_PKGS="git make gcc libc6-dev python3 ca-certificates"
TARGET=${OH_FRESH_TARGET:-test}
RUN_PORT=6388 # conf/offheapd.conf's port, which `make run` uses

say() { echo "fresh-check: $*"; }
die() {
    echo "fresh-check: FAILED: $*" >&2
    exit 1
}

# ---- inside the namespaces (the script runs itself with --inside) ----
# Mounts what a booted machine has, then runs the user's commands in the
# chroot. The mounts are private to this mount namespace: they vanish with
# it, whatever happens.
if [ "${1:-}" = --inside ]; then
    R=$2
    shift 2
    mount -t proc proc "$R/proc"
    mount -t sysfs sysfs "$R/sys" 2>/dev/null || mount --rbind -o ro /sys "$R/sys"
    mount -t tmpfs -o mode=755,nosuid tmpfs "$R/dev"
    for d in null zero full random urandom tty; do
        touch "$R/dev/$d"
        mount --bind "/dev/$d" "$R/dev/$d"
    done
    mkdir -p "$R/dev/pts" "$R/dev/shm"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$R/dev/pts"
    ln -s pts/ptmx "$R/dev/ptmx"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/dev/shm"
    ln -s /proc/self/fd "$R/dev/fd"
    ln -s /proc/self/fd/0 "$R/dev/stdin"
    ln -s /proc/self/fd/1 "$R/dev/stdout"
    ln -s /proc/self/fd/2 "$R/dev/stderr"
    mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"
    mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$R/run"
    exec chroot "$R" "$@"
fi

# ---- the script run in the chroot (as root, in the clone) ----
# shellcheck disable=SC2016 # expanded in the chroot, not here
IN_ROOT='
set -u
cd /src/offheap
echo "fresh-check: in the root: $(. /etc/os-release && echo "$PRETTY_NAME"), $(id -un), PATH=$PATH"
t0=$(date +%s)
make $OH_FRESH_MAKEFLAGS $OH_FRESH_TARGET </dev/null 2>&1 | tee /var/tmp/make-test.log
rc=${PIPESTATUS[0]}
t1=$(date +%s)
echo "fresh-check: make $OH_FRESH_TARGET exit status $rc after $((t1 - t0)) s"
echo "FRESH make-test-rc=$rc seconds=$((t1 - t0))"
echo "fresh-check: make run (in the background)"
make run </dev/null >/var/tmp/make-run.log 2>&1 &
mpid=$!
pong=""
for _ in $(seq 1200); do # 2 minutes: make run may still have to build
    pong=$(redis-cli -p '"$RUN_PORT"' ping 2>/dev/null) || true
    [ "$pong" = PONG ] && break
    kill -0 "$mpid" 2>/dev/null || break
    sleep 0.1
done
# The answer must come from this root'"'"'s offheapd, not one on the host
# (the root shares the host'"'"'s network): its pid is in our PID namespace.
spid=$(redis-cli -p '"$RUN_PORT"' info server 2>/dev/null | tr -d "\r" |
    sed -n "s/^process_id://p")
comm=$(cat "/proc/${spid:-0}/comm" 2>/dev/null || true)
echo "fresh-check: redis-cli -p '"$RUN_PORT"' ping: ${pong:-no answer} (from pid ${spid:-?}: ${comm:-not in this root})"
if [ "$pong" = PONG ] && [ "$comm" = offheapd ]; then
    echo "FRESH make-run=ok"
else
    echo "fresh-check: make run output:"
    sed "s/^/    /" /var/tmp/make-run.log
    echo "FRESH make-run=failed"
fi
[ -n "$spid" ] && [ "$comm" = offheapd ] && kill -TERM "$spid"
for _ in $(seq 100); do
    kill -0 "$mpid" 2>/dev/null || break
    sleep 0.1
done
kill "$mpid" 2>/dev/null || true
'

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts)"
command -v unshare >/dev/null || die "unshare (util-linux) is not installed"
if ! command -v debootstrap >/dev/null; then
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
        die "apt-get install debootstrap"
fi

# The host's Debian mirror for $SUITE (and its security mirror), from
# /etc/apt/sources.list and sources.list.d (one-line and deb822 formats).
host_mirror() { # host_mirror SUITE
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        awk -v s="$1" '$1 == "deb" {
            i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
            if ($(i + 1) == s) { print $i; exit } }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk -v s="$1" 'function flush() {
                if (deb && uri != "" && (" " suites " ") ~ (" " s " ")) { print uri; exit }
                deb = 0; uri = ""; suites = "" }
            /^[ \t]*$/ { flush(); next }
            /^Types:/ { deb = ($0 ~ /[ \t]deb([ \t]|$)/) }
            /^URIs:/ { uri = $2 }
            /^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
            END { flush() }' "$f"
    done
}
MIRROR=${OH_FRESH_MIRROR:-$(host_mirror "$SUITE" | head -n 1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=$(host_mirror "$SUITE-security" | head -n 1)
SECURITY=${SECURITY:-${MIRROR%/debian}/debian-security}

COMMIT=$(git -C "$REPO" rev-parse HEAD)
say "commit $(git -C "$REPO" log -1 --format='%h %s' | cut -c1-100)"
if [ -n "$(git -C "$REPO" status --porcelain --untracked-files=no)" ]; then
    say "note: the working tree has changes not committed; they are not part of this check"
fi
T_START=$(date +%s)

# ---- 1. the cached pristine root ----
KEY=$(printf '%s\n' "$SUITE" "$MIRROR" "$SECURITY" "$FRESH_PKGS" minbase-1 |
    sha256sum | cut -c1-12)
BASE=$CACHE/$SUITE-$KEY
mkdir -p "$CACHE"
if [ ! -e "$BASE/.complete" ]; then
    say "building the pristine $SUITE root (debootstrap from $MIRROR) into $BASE"
    t0=$(date +%s)
    rm -rf --one-file-system "$BASE.tmp"
    debootstrap --variant=minbase --include="${FRESH_PKGS// /,}" \
        "$SUITE" "$BASE.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
        die "debootstrap (log: $CACHE/debootstrap.log): $(tail -n 5 "$CACHE/debootstrap.log")"
    # The apt sources of a Debian 12 installed from that mirror.
    cat >"$BASE.tmp/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
EOF
    # No daemon a package installs (redis-server, memcached, nutcracker) is
    # started inside the chroot: it would outlive the run and hold the
    # host's ports. On a booted machine install-deps stops them itself.
    printf '#!/bin/sh\nexit 101\n' >"$BASE.tmp/usr/sbin/policy-rc.d"
    chmod 755 "$BASE.tmp/usr/sbin/policy-rc.d"
    rm -rf "$BASE.tmp"/var/cache/apt/archives/*.deb "$BASE.tmp"/var/lib/apt/lists/*
    touch "$BASE.tmp/.complete"
    rm -rf --one-file-system "$BASE"
    mv "$BASE.tmp" "$BASE"
    say "pristine root built in $(($(date +%s) - t0)) s"
else
    say "pristine $SUITE root from the cache: $BASE"
fi

# ---- 2. this run's copy ----
WORK=$(mktemp -d /var/tmp/offheap-fresh.XXXXXX)
NS_PID=
cleanup() {
    if [ -n "$NS_PID" ] && kill -0 "$NS_PID" 2>/dev/null; then
        kill -KILL "$NS_PID" 2>/dev/null || true # its PID namespace goes with it
        wait "$NS_PID" 2>/dev/null || true
    fi
    # The mounts live in the run's own mount namespace; should one show
    # here all the same, unmount it before anything is removed.
    awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo |
        sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    if [ "${OH_FRESH_KEEP:-0}" = 1 ]; then
        say "kept the run's root: $WORK/root"
    elif awk -v w="$WORK/" 'index($5, w) == 1 { f = 1 } END { exit !f }' /proc/self/mountinfo; then
        say "not removing $WORK: something is still mounted under it"
    else
        rm -rf --one-file-system "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
R=$WORK/root
cp -a "$BASE" "$R"
rm -f "$R/.complete"
if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
    cp -a /usr/local/share/ca-certificates/. "$R/usr/local/share/ca-certificates/"
fi
cp -L /etc/resolv.conf "$R/etc/resolv.conf"
# debootstrap writes no /etc/hosts; every installed Debian has this one (the
# installer's, a cloud image's), and without it "localhost" goes to DNS.
if [ ! -s "$R/etc/hosts" ]; then
    printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n' >"$R/etc/hosts"
fi
mkdir -p "$R/src"
git clone -q --no-hardlinks "$REPO" "$R/src/offheap"
git -C "$R/src/offheap" checkout -q "$COMMIT"

# The proxy the host uses, if any: the only environment passed in.
ENVS=(HOME=/root TERM=dumb
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    "OH_FRESH_MAKEFLAGS=${OH_FRESH_MAKEFLAGS:-}" "OH_FRESH_TARGET=$TARGET")
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    if [ -n "${!v:-}" ]; then
        ENVS+=("$v=${!v}")
        say "passing $v into the root"
    fi
done

# ---- 3. the run ----
if [ "$(redis-cli -p "$RUN_PORT" ping 2>/dev/null || true)" = PONG ]; then
    say "note: something on the host answers on port $RUN_PORT; the check asks the root's own offheapd"
fi
LOG=$WORK/run.log
say "make $TARGET, then make run, in $R (log: $LOG)"
set +e
unshare --mount --pid --fork --propagation private --kill-child \
    bash "$0" --inside "$R" /usr/bin/env -i "${ENVS[@]}" /bin/bash -c "
update-ca-certificates >/dev/null 2>&1 || echo 'fresh-check: update-ca-certificates failed'
$IN_ROOT" > >(tee "$LOG") 2>&1 &
NS_PID=$!
wait "$NS_PID"
rc=$?
NS_PID=
set -e
sleep 0.2 # tee's last lines

T_END=$(date +%s)
test_rc=$(sed -n 's/^FRESH make-test-rc=\([0-9]*\).*/\1/p' "$LOG" | tail -n 1)
test_s=$(sed -n 's/^FRESH make-test-rc=.* seconds=\([0-9]*\)/\1/p' "$LOG" | tail -n 1)
run_ok=$(sed -n 's/^FRESH make-run=//p' "$LOG" | tail -n 1)
counts=$(sed -n '/^FRESH make-test-rc=/q; p' "$LOG" |
    grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1 || true)
p=0
f=1
if [ -n "$counts" ]; then
    read -r p _ f _ <<<"${counts//,/}"
fi
echo
say "commit $COMMIT"
if [ -n "$test_rc" ]; then
    say "make $TARGET in the fresh root: ${test_s} s, exit status $test_rc, ${counts:-no \"N passed, N failed\" line}"
else
    say "make $TARGET in the fresh root did not finish (exit status $rc of the run)"
fi
say "make run serves PING on $RUN_PORT: ${run_ok:-not checked}"
say "whole check: $((T_END - T_START)) s"
if [ "$TARGET" != test ] && [ -z "$counts" ] && [ "${test_rc:-1}" -eq 0 ]; then
    f=0 # a target without a suite (all, server): its exit status says it
fi
if [ "${test_rc:-1}" -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1 # make failed without a failed test (a build error)
fi
if [ "$run_ok" = ok ]; then
    p=$((p + 1))
else
    f=$((f + 1))
fi
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
