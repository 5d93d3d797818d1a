'use strict';
/*
 * Loads the addon. In order:
 *   build/Release/offheap.node       built on this machine (node-gyp rebuild,
 *                                     npm install --build-from-source)
 *   prebuilds/<platform>-<arch>/offheap.node   built by `npm pack`, shipped
 *                                     in the tarball (linux-x64)
 * A local build exists only when someone built one, so it wins, as with
 * node-gyp-build. Node-API only: one binary serves every Node >= 18.
 */
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function candidates() {
  return [
    path.join(root, 'build', 'Release', 'offheap.node'),
    path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'offheap.node'),
  ];
}

function load() {
  const tried = [];
  for (const file of candidates()) {
    try {
      return { native: require(file), file };
    } catch (e) {
      if (e.code === 'MODULE_NOT_FOUND' && e.message.includes(file)) {
        tried.push(`${file}: not there`);
      } else {
        tried.push(`${file}: ${e.message}`);
      }
    }
  }
  const err = new Error(
    `offheap: no usable native addon for ${process.platform}-${process.arch} ` +
    `(Node ${process.versions.node}). Tried:\n  ${tried.join('\n  ')}\n` +
    'Build it from source with: npm rebuild offheap --build-from-source ' +
    '(needs a C compiler, make, python3 and libhiredis-dev).');
  err.code = 'OFFHEAP_NO_ADDON';
  throw err;
}

module.exports = { load, candidates };
