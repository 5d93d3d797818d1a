'use strict';
/*
 * What binding.gyp compiles, by gyp command expansion:
 *   node scripts/sources.js sources|include|libs
 *
 * In the repository the C sources of liboffheap and of the protocol code it
 * uses are ../ and ../../proto; in a packed tarball they are in
 * lib-src/client and lib-src/proto (copied there by scripts/prepack.js).
 * Every .c file found there is compiled, so a file added to client/ or
 * proto/ needs no change here. Both layouts keep client/ and proto/ side by
 * side, so "offheap.h", "../proto/resp.h" and "proto/resp.h" all resolve.
 *
 * libs: hiredis is linked from the shared library, unless
 * OFFHEAP_HIREDIS_STATIC=1 (the prebuilt addon of `npm pack`: it then needs
 * no libhiredis at run time, whatever its soname on the user's machine).
 */
const fs = require('node:fs');
const path = require('node:path');

const here = path.resolve(__dirname, '..');

function layout() {
  /* In the repository the sources themselves, even while `npm pack` has a
   * copy in lib-src/ (never a stale copy); elsewhere the bundled one. */
  if (fs.existsSync(path.join(here, '..', 'offheap.h')) &&
      fs.existsSync(path.join(here, '..', '..', 'proto'))) {
    return { client: '..', proto: '../../proto', root: '../..' };
  }
  const bundled = path.join(here, 'lib-src');
  if (fs.existsSync(path.join(bundled, 'client', 'offheap.h'))) {
    return { client: 'lib-src/client', proto: 'lib-src/proto', root: 'lib-src' };
  }
  throw new Error(`offheap: no C sources in ${bundled} nor in ${path.join(here, '..')}`);
}

function cfiles(dir) {
  const abs = path.join(here, dir);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs).filter((f) => f.endsWith('.c')).sort().map((f) => `${dir}/${f}`);
}

function main(what) {
  const l = layout();
  switch (what) {
    case 'sources':
      return [...cfiles(l.client), ...cfiles(l.proto)];
    case 'include':
      return [l.client, l.root];
    case 'libs':
      return process.env.OFFHEAP_HIREDIS_STATIC === '1'
        ? ['-Wl,-Bstatic', '-lhiredis', '-Wl,-Bdynamic', '-Wl,--exclude-libs,ALL', '-lm']
        : ['-lhiredis', '-lm'];
    default:
      throw new Error(`usage: sources.js sources|include|libs (got ${what})`);
  }
}

module.exports = { layout, cfiles, main };

if (require.main === module) {
  process.stdout.write(main(process.argv[2]).join(' ') + '\n');
}
