'use strict';
/*
 * Run by `npm pack` (and `npm publish`) before the tarball is made:
 *   1. copies the C sources the addon compiles into lib-src/: every .c and
 *      .h of client/ into lib-src/client, of proto/ into lib-src/proto (the
 *      same two folders side by side, so their #includes resolve as in the
 *      repository), whatever files are there today;
 *   2. builds the addon from that copy alone, in a scratch directory, with
 *      hiredis linked statically (it then needs only libc at run time), and
 *      puts it in prebuilds/<platform>-<arch>/offheap.node;
 *   3. checks that it loads.
 * scripts/postpack.js removes both folders again (the repository's own
 * builds use ../ and ../../proto in any case, see sources.js).
 *
 * With --sources (the "prepare" script) only step 1: npm 9.0-9.3, Debian
 * 12's among them, install a folder (`npm install /path/to/client/node`)
 * by copying its files after running "prepare" in it, so the copy gets the
 * sources and builds from them.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { build } = require('./build');

const here = path.resolve(__dirname, '..');
const repo = path.resolve(here, '..', '..');
const libsrc = path.join(here, 'lib-src');
const tag = `${process.platform}-${process.arch}`;

function copySources(from, to) {
  fs.mkdirSync(to, { recursive: true });
  const files = fs.readdirSync(from).filter((f) => /\.[ch]$/.test(f)).sort();
  for (const f of files) fs.copyFileSync(path.join(from, f), path.join(to, f));
  return files.length;
}

function main() {
  if (!fs.existsSync(path.join(repo, 'client', 'offheap.h'))) {
    /* Packing an unpacked tarball again: lib-src/ is already there. */
    if (fs.existsSync(path.join(libsrc, 'client', 'offheap.h'))) return;
    throw new Error('prepack: neither ../offheap.h nor lib-src/ found');
  }
  fs.rmSync(libsrc, { recursive: true, force: true });
  const n = copySources(path.join(repo, 'client'), path.join(libsrc, 'client')) +
    copySources(path.join(repo, 'proto'), path.join(libsrc, 'proto'));
  if (process.argv.includes('--sources')) return;
  fs.rmSync(path.join(here, 'prebuilds'), { recursive: true, force: true });

  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'offheap-prebuild-'));
  try {
    for (const f of ['binding.gyp', 'package.json']) fs.copyFileSync(path.join(here, f), path.join(scratch, f));
    for (const d of ['src', 'scripts', 'lib-src']) fs.cpSync(path.join(here, d), path.join(scratch, d), { recursive: true });
    if (!build(scratch, { env: { OFFHEAP_HIREDIS_STATIC: '1' }, quiet: true })) {
      throw new Error('prepack: building the prebuilt addon failed');
    }
    const out = path.join(here, 'prebuilds', tag);
    fs.mkdirSync(out, { recursive: true });
    const addon = path.join(out, 'offheap.node');
    fs.copyFileSync(path.join(scratch, 'build', 'Release', 'offheap.node'), addon);
    spawnSync('strip', ['--strip-unneeded', addon], { stdio: 'ignore' });
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  const check = spawnSync(process.execPath, ['-e',
    `const m = require(${JSON.stringify(path.join(here, 'prebuilds', tag, 'offheap.node'))});` +
    "if (typeof m.create !== 'function') process.exit(1);"], { stdio: 'inherit' });
  if (check.status !== 0) throw new Error('prepack: the prebuilt addon does not load');
  console.error(`offheap prepack: ${n} C files in lib-src/, prebuilds/${tag}/offheap.node`);
}

try {
  main();
} catch (e) {
  if (fs.existsSync(path.join(repo, 'client', 'offheap.h'))) {
    fs.rmSync(libsrc, { recursive: true, force: true });
    fs.rmSync(path.join(here, 'prebuilds'), { recursive: true, force: true });
  }
  console.error(e.message);
  process.exit(1);
}
