#!/bin/bash
# The Node package as a user gets it: `npm pack`, then installs of the
# tarball into projects in temporary directories outside the repository,
# offline, from the npm cache that fill-cache.sh filled, with an empty user
# npmrc (nothing of this machine's npm settings, e.g. nodedir, helps).
#   run.sh <results dir>
# Env: OFFHEAPD (the server), NODE_CACHE (the filled npm cache), NPM9 and
# NPM92 (npm-cli.js of npm 9.9 and of npm 9.2, Debian 12's). Prints "client pack: N passed, N failed" and
# "client keyv: N passed, N failed" (Keyv's own suite), and writes both
# counts to <results dir>/pack and <results dir>/keyv.
set -u
here=$(cd "$(dirname "$0")" && pwd)
pkg=$(cd "$here/.." && pwd)
results=$1
mkdir -p "$results"
: "${OFFHEAPD:?}" "${NODE_CACHE:?}"
npass=0 nfail=0
ok() { npass=$((npass + 1)); echo "ok   $*"; }
bad() { nfail=$((nfail + 1)); echo "FAIL $*"; }
# check <what> <command...>: runs it with its output in $log
check() {
    local what=$1
    shift
    if "$@" >"$log" 2>&1; then ok "$what"; else bad "$what"; sed 's/^/    /' "$log" | tail -40; fi
}

tmp=$(mktemp -d)
log=$tmp/log
: >"$tmp/empty.npmrc"
export npm_config_userconfig=$tmp/empty.npmrc npm_config_cache=$NODE_CACHE \
    npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
spid=
cleanup() {
    [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- the tarball ----
if (cd "$pkg" && npm pack --pack-destination "$tmp" --loglevel=error) >"$log" 2>&1; then
    tgz=$(ls "$tmp"/offheap-*.tgz)
    tar tzf "$tgz" >"$tmp/files"
    n=$(wc -l <"$tmp/files")
    missing=""
    for f in package/lib-src/client/offheap.c package/lib-src/client/offheap.h \
        package/lib-src/proto/resp.h package/prebuilds/linux-x64/offheap.node \
        package/binding.gyp package/index.mjs package/keyv.js package/index.d.ts; do
        grep -qx "$f" "$tmp/files" || missing="$missing $f"
    done
    for f in $(cd "$pkg/../.." && ls client/*.[ch] proto/*.[ch]); do
        grep -qx "package/lib-src/$f" "$tmp/files" || missing="$missing lib-src/$f"
    done
    if [ -z "$missing" ]; then ok "npm pack: $(basename "$tgz"), $n files, $(du -k "$tgz" | cut -f1) KB"
    else bad "npm pack: missing$missing"; fi
    [ ! -e "$pkg/lib-src" ] && [ ! -e "$pkg/prebuilds" ] && ok "postpack leaves no lib-src/ nor prebuilds/ in the tree" \
        || bad "lib-src/ or prebuilds/ left in the tree"
else
    bad "npm pack"; cat "$log"
    echo "0 1" >"$results/keyv"; echo "client keyv: 0 passed, 1 failed"
    echo "$npass $nfail" >"$results/pack"; echo "client pack: $npass passed, $nfail failed"
    exit 1
fi

# ---- a server ----
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sock=$tmp/offheapd.sock
"$OFFHEAPD" --port "$port" --unixsocket "$sock" --unixsocketperm 700 --loglevel warning \
    --snapshot-file "" >/dev/null 2>&1 &
spid=$!
for _ in $(seq 1 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
export OFFHEAP_SERVERS="unix:$sock"

# newproj <dir>: an empty project
newproj() { mkdir -p "$1" && echo '{"name":"app","version":"1.0.0","private":true}' >"$1/package.json"; }
# addon <dir>: the file require('offheap') loaded there
addon() { (cd "$1" && node -p "require('offheap').addonFile"); }

# ---- npm 11 (this machine's npm), what a user sees ----
newproj "$tmp/app"
start=$(date +%s%N)
if (cd "$tmp/app" && npm install --offline "$tgz") >"$tmp/install.out" 2>&1; then
    ms=$((($(date +%s%N) - start) / 1000000))
    ok "npm $(npm --version) install --offline of the tarball: ${ms} ms"
    echo "    what npm prints:"; sed 's/^/    | /' "$tmp/install.out"
else
    bad "npm install of the tarball"; cat "$tmp/install.out"
fi
case $(addon "$tmp/app" 2>&1) in
*/prebuilds/linux-x64/offheap.node) ok "the prebuilt addon is used, nothing compiled" ;;
*) bad "prebuilt addon: $(addon "$tmp/app" 2>&1)" ;;
esac
[ ! -e "$tmp/app/node_modules/offheap/build" ] && ok "no build/ in node_modules/offheap" || bad "a build/ was made"
cp "$here/smoke.cjs" "$here/smoke.mjs" "$tmp/app/"
check "require('offheap') and a get/set/fetch round trip over the Unix socket" bash -c "cd '$tmp/app' && node smoke.cjs"
check "ESM import of offheap and offheap/keyv, and a round trip" bash -c "cd '$tmp/app' && node smoke.mjs"
newproj "$tmp/noscripts"
check "npm install --ignore-scripts (scripts denied): still loads" bash -c \
    "cd '$tmp/noscripts' && npm install --offline --ignore-scripts '$tgz' && node -e \"require('offheap').connect('$OFFHEAP_SERVERS').close()\""

newproj "$tmp/src11"
check "npm 11 install --build-from-source compiles the bundled sources" bash -c \
    "cd '$tmp/src11' && npm install --offline --build-from-source '$tgz' && cp '$here/smoke.cjs' . && node smoke.cjs | grep -q 'build/Release/offheap.node'"

# ---- npm 9 (Debian 12's major) ----
if [ -n "${NPM9:-}" ] && [ -f "$NPM9" ]; then
    v9=$(node "$NPM9" --version)
    newproj "$tmp/app9"
    check "npm $v9 install of the tarball, require and import" bash -c \
        "cd '$tmp/app9' && node '$NPM9' install --offline '$tgz' && cp '$here/smoke.cjs' '$here/smoke.mjs' . && node smoke.cjs && node smoke.mjs"
    newproj "$tmp/src9"
    check "npm $v9 install --build-from-source" bash -c \
        "cd '$tmp/src9' && node '$NPM9' install --offline --build-from-source '$tgz' && cp '$here/smoke.cjs' . && node smoke.cjs | grep -q 'build/Release/offheap.node'"
else
    bad "npm 9 not in the cache (make client-node fills it)"
fi

# ---- the repository folder itself, as `npm install /path/to/client/node` ----
newproj "$tmp/folder11"
check "npm $(npm --version) install of the folder (a link): uses the repository's addon" bash -c \
    "cd '$tmp/folder11' && npm install --offline '$pkg' && node -p \"require('offheap').addonFile\" | grep -qx '$pkg/build/Release/offheap.node'"
npm92=${NPM92:-}
if [ -n "$npm92" ] && [ -f "$npm92" ]; then
    newproj "$tmp/folder92"
    check "npm $(node "$npm92" --version) install of the folder (a copy): builds from the copied sources" bash -c \
        "cd '$tmp/folder92' && node '$npm92' install --offline '$pkg' && [ ! -L node_modules/offheap ] && cp '$here/smoke.cjs' . && node smoke.cjs | grep -q '$tmp/folder92/node_modules/offheap/build/Release/offheap.node'"
else
    bad "npm 9.2 not in the cache (make client-node fills it)"
fi

# ---- Keyv's suite, cache-manager 7, TypeScript: a project with those ----
# --ignore-scripts: @keyv/test-suite depends on sqlite3 (never imported),
# whose install script would download a binary or compile SQLite.
proj=$tmp/suite
mkdir -p "$proj"
cp "$here/package.json" "$here/package-lock.json" "$here/keyv.test.mjs" "$here/types.ts" \
    "$here/tsconfig.json" "$proj/"
cp "$pkg/examples/cache-manager.mjs" "$proj/"
kp=0 kf=1
if (cd "$proj" && npm install --offline --ignore-scripts "$tgz") >"$log" 2>&1; then
    ok "a project with keyv, @keyv/test-suite, vitest, cache-manager installs offline"
    (cd "$proj" && npx --no-install vitest run --reporter=default --reporter=json \
        --outputFile=vitest.json keyv.test.mjs) >"$tmp/vitest.log" 2>&1
    if [ -f "$proj/vitest.json" ]; then
        read -r kp kf < <(node -e "const r=require('$proj/vitest.json'); console.log(r.numPassedTests, r.numFailedTests + (r.numTotalTests === 0 ? 1 : 0))")
        grep -E 'Test Files|Tests ' "$tmp/vitest.log" | sed 's/^/    /'
        [ "$kf" -eq 0 ] || cat "$tmp/vitest.log"
    else
        cat "$tmp/vitest.log"
    fi
    check "the cache-manager 7 example" bash -c "cd '$proj' && node cache-manager.mjs | grep -q 'cache-manager example: ok'"
    check "index.d.ts and keyv.d.ts type-check a consumer (tsc --strict)" bash -c "cd '$proj' && npx --no-install tsc -p ."
else
    bad "installing the suite project"; cat "$log"
fi

echo "$kp $kf" >"$results/keyv"
echo "client keyv: $kp passed, $kf failed"
echo "$npass $nfail" >"$results/pack"
echo "client pack: $npass passed, $nfail failed"
