#!/bin/bash
# Fills the npm cache run.sh installs from offline: every package of this
# folder's package-lock.json, npm 9.9 into <cache>/../npm9 and npm 9.2
# (Debian 12's own, which copies a folder it installs) into <cache>/../npm9.2. Online, once; again only when package-lock.json changes.
# It uses your npm settings (proxy, cafile), unlike run.sh, which installs
# with an empty user config.
#   fill-cache.sh <cache dir>
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=$1
stamp=$cache/.filled
if [ -f "$stamp" ] && [ "$stamp" -nt "$here/package-lock.json" ] && [ -f "$cache/../npm9/node_modules/npm/bin/npm-cli.js" ] &&
   [ -f "$cache/../npm9.2/node_modules/npm/bin/npm-cli.js" ]; then
    exit 0
fi
mkdir -p "$cache"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$tmp/"
echo "client-node: filling the npm cache for the packaging tests ($cache)"
if ! (cd "$tmp" && npm ci --cache "$cache" --ignore-scripts \
        --no-audit --no-fund --loglevel=error) >"$tmp/log" 2>&1 ||
   ! npm install --cache "$cache" --prefix "$cache/../npm9" \
        --no-audit --no-fund --loglevel=error npm@9.9.4 >>"$tmp/log" 2>&1 ||
   ! npm install --cache "$cache" --prefix "$cache/../npm9.2" \
        --no-audit --no-fund --loglevel=error npm@9.2.0 >>"$tmp/log" 2>&1; then
    cat "$tmp/log" >&2
    echo "client-node: could not fill the npm cache from the registry (see above: network, proxy or CA?)" >&2
    exit 1
fi
touch "$stamp"
