'use strict';
/*
 * The package's install script. With a working addon (the prebuilt one of
 * the tarball, or an earlier local build) it does nothing and prints
 * nothing; otherwise, and always with `npm install --build-from-source`
 * (or OFFHEAP_BUILD_FROM_SOURCE=1), it builds from the bundled C sources
 * with node-gyp against the machine's Node headers (scripts/build.js).
 *
 * Skipping this script (npm's --ignore-scripts, or npm 11's
 * `npm install-scripts deny offheap`) costs nothing where the prebuilt
 * addon loads: the loader does not depend on it.
 */
const path = require('node:path');
const { build } = require('./build');

const root = path.resolve(__dirname, '..');
const fromSource = /^(1|true)$/i.test(process.env.npm_config_build_from_source || '') ||
  /^(1|true)$/i.test(process.env.OFFHEAP_BUILD_FROM_SOURCE || '');

function loads() {
  try {
    require(path.join(root, 'lib', 'native.js')).load();
    return true;
  } catch (e) {
    return false;
  }
}

if (!fromSource && loads()) process.exit(0);
if (!build(root)) {
  console.error('offheap: building the native addon failed. It needs a C compiler, make, python3 and ' +
    "libhiredis-dev (Debian: apt-get install gcc make python3 libhiredis-dev).");
  process.exit(1);
}
if (!loads()) {
  console.error('offheap: the addon was built but does not load');
  process.exit(1);
}
