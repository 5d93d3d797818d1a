#!/bin/sh
# Installs the Debian 12 packages offheap needs to build and test, and says
# what it installs. With --if-missing (what `make` uses) it does nothing when
# everything is already there.
#   build:  gcc make pkg-config libevent-dev libhiredis-dev libjemalloc-dev
#           libcmocka-dev libsystemd-dev
#   tests:  redis-tools (redis-cli, redis-benchmark), nodejs + npm (client
#           tests), clang + libclang-rt-14-dev (fuzzing), clang-format,
#           valgrind
#   bench:  redis-server, memcached, libmemcached-tools (the peers)
set -eu

missing=""
need_pkg() { # need_pkg <debian package> <test command...>
    pkg=$1
    shift
    if ! "$@" >/dev/null 2>&1; then
        missing="$missing $pkg"
    fi
}
has() { command -v "$1"; }
pc() { pkg-config --exists "$1"; }

need_pkg gcc has gcc
need_pkg make has make
need_pkg pkg-config has pkg-config
if has pkg-config >/dev/null 2>&1; then
    need_pkg libevent-dev pc libevent
    need_pkg libhiredis-dev pc hiredis
    need_pkg libjemalloc-dev pc jemalloc
    need_pkg libcmocka-dev pc cmocka
    need_pkg libsystemd-dev pc libsystemd
else
    missing="$missing libevent-dev libhiredis-dev libjemalloc-dev libcmocka-dev libsystemd-dev"
fi
need_pkg redis-tools has redis-benchmark
need_pkg nodejs has node
need_pkg npm has npm
need_pkg clang has clang
need_pkg libclang-rt-14-dev test -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
need_pkg clang-format has clang-format
need_pkg valgrind has valgrind
need_pkg redis-server has redis-server
need_pkg memcached has memcached
need_pkg libmemcached-tools has memcaslap

if [ -z "$missing" ]; then
    [ "${1:-}" = "--if-missing" ] || echo "install-deps: everything is installed"
    exit 0
fi

echo "install-deps: installing Debian packages:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-deps: not root and no sudo; install them by hand:" >&2
        echo "  apt-get install$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
# The Debian redis-server package starts a service on 6379; the tests and
# benchmarks start their own instances, so leave the system one stopped.
if echo "$missing" | grep -q redis-server; then
    $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
if echo "$missing" | grep -q memcached; then
    $SUDO systemctl disable --now memcached >/dev/null 2>&1 || true
fi
echo "install-deps: done"
